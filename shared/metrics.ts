/**
 * CloudWatch metrics in embedded metric format (Powertools Metrics): what each run did, as numbers an
 * operator can alarm on. The figures are derived from the run's report only, so they cannot disagree with it.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from './logger.js';
import type { Report } from './reconcile/run.js';

export const METRICS_NAMESPACE_DEFAULT = 'MackerelReconciler';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

export interface RunMetric {
  name: string;
  unit: Unit;
  value: number;
}

const count = (name: string, value: number): RunMetric => ({ name, unit: MetricUnit.Count, value });

/** The figures of one run. Dry runs count what they planned under the same names (dimension `dryRun`). */
export function runMetrics(report: Report): RunMetric[] {
  const acted = report.actions.filter((a) => a.outcome === (report.dryRun ? 'planned' : 'done'));
  const retired = acted.filter((a) => a.kind === 'retire');
  const merged = retired.filter((a) => a.detail?.retireReason === 'duplicate-stale');
  const detected = report.findings.detailTypes;
  const metrics = [
    count('HostsRetired', retired.length - merged.length),
    count('StatusesChanged', acted.filter((a) => a.kind === 'set-status').length),
    count('DuplicatesFound', detected['Duplicate Hosts Detected'] ?? 0),
    count('DuplicatesMerged', merged.length),
    count('ImdsDisabledInstances', detected['IMDS Disabled'] ?? 0),
    count('ImdsRemediated', acted.filter((a) => a.kind === 'enable-imds').length),
    count('ActionsFailed', report.actions.filter((a) => a.outcome === 'failed').length),
    count('ForeignHosts', report.foreignHostIds.length),
    count('MackerelApiRetries', report.apiRetries.mackerel),
    count('Ec2ApiRetries', report.apiRetries.ec2),
    count('CircuitBreakerTripped', report.circuitBreaker?.tripped ? 1 : 0),
    // the dashboard's (infra/dashboard.yml): runs, what was held back, the other action kinds
    count('Runs', 1),
    count('HeldRetirements', report.counts.held),
    count('RolesMerged', acted.filter((a) => a.kind === 'merge-roles').length),
    count('ChecksReported', acted.filter((a) => a.kind === 'report-check').length),
    count('AlertsClosed', acted.filter((a) => a.kind === 'close-alerts').length),
    count('AgentsRepaired', acted.filter((a) => a.kind === 'repair-agent').length),
    count('SilencesChanged', acted.filter((a) => a.kind === 'am-silence' || a.kind === 'am-expire').length),
    count('AlertmanagerAlertsPosted', acted.filter((a) => a.kind === 'am-alert').length),
  ];
  if (report.trigger === 'sweep' && report.status !== 'skipped') {
    metrics.push({ name: 'SweepDuration', unit: MetricUnit.Milliseconds, value: report.durationMs });
  }
  return metrics;
}

/**
 * How long after the state change an event-driven run finished (the event's `time` to now): the event path's
 * latency, EventBridge's delivery and retries included. Only for runs a live event triggered (not replays).
 */
export function eventLatency(event: unknown, report: Report, now: number = Date.now()): RunMetric | undefined {
  if (report.events === undefined || report.trigger === 'replay' || report.status === 'skipped') return undefined;
  const time = typeof event === 'object' && event !== null ? (event as { time?: unknown }).time : undefined;
  const at = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  if (!Number.isFinite(at)) return undefined;
  return { name: 'EventLatency', unit: MetricUnit.Milliseconds, value: Math.max(0, now - at) };
}

let instance: Metrics | undefined;

/**
 * Powertools Metrics' own advice, through the service's logger. Two notices are expected here and only debug:
 * a failed invocation has no metrics to publish (the error is logged on its own), and invocations sharing a
 * container at once (only tests do that) add the same dimensions. Anything else stays a warning.
 */
const EXPECTED_ADVICE = /^(No application metrics to publish|Dimension "[^"]+" has already been added)/;
const metricsAdvice = {
  debug: (...a: unknown[]) => logger.debug(String(a[0] ?? '')),
  info: (...a: unknown[]) => logger.info(String(a[0] ?? '')),
  warn: (...a: unknown[]) => {
    const text = String(a[0] ?? '');
    if (EXPECTED_ADVICE.test(text)) logger.debug(text);
    else logger.warn(text);
  },
  error: (...a: unknown[]) => logger.error(String(a[0] ?? '')),
};

/** One Metrics per container, created at first use so that it reads the environment of the invocation. */
export function metrics(): Metrics {
  instance ??= new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE_DEFAULT,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'mackerel-reconciler',
    logger: metricsAdvice,
  });
  return instance;
}

export function recordRun(m: Metrics, report: Report, event?: unknown): void {
  m.addDimension('trigger', report.trigger);
  m.addDimension('dryRun', String(report.dryRun));
  for (const { name, unit, value } of runMetrics(report)) m.addMetric(name, unit, value);
  const latency = eventLatency(event, report);
  if (latency) m.addMetric(latency.name, latency.unit, latency.value);
}
