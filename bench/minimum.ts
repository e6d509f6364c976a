/**
 * The fewest API calls a sweep can make for a given amount of work (issue #5): one host list,
 * ⌈instances/1000⌉ DescribeInstances per region, ⌈retirements/30⌉ bulk-retire, ⌈changes/30⌉ bulk status
 * updates per target status, ⌈reports/100⌉ check reports, ⌈entries/10⌉ PutEvents, ⌈candidates/100⌉ tsdb/latest,
 * one graph annotation per service whose hosts were retired or powered off.
 * updates per target status, ⌈reports/100⌉ check reports, ⌈entries/10⌉ PutEvents, ⌈candidates/100⌉ tsdb/latest
 * (duplicate candidates and the canonical agent hosts of running instances up ≥ 10 minutes, whose silence it tells).
 * Anything else the code calls has a minimum of 0. DynamoDB has no stated minimum and is reported apart.
 */
import type { CallCounts } from './calls.js';

export interface Work {
  /** instances DescribeInstances returns, per region */
  instancesPerRegion: number[];
  retirements: number;
  /** by target status */
  statusChanges: Record<string, number>;
  checkReports: number;
  duplicateCandidates: number;
  /** canonical agent hosts of running instances up ≥ 10 minutes (host-silent); read in the same tsdb/latest batches */
  silenceCandidates?: number;
  /** PutEvents entries (findings) */
  findings: number;
  /** services with a host retired or powered off: one graph annotation each (none in a dry run) */
  annotatedServices?: number;
  /** task ARNs container hosts name, per cluster: ⌈n/100⌉ DescribeTasks each (#12) */
  tasksPerCluster?: number[];
  /** open alerts when a poweroff is planned: one listing of ⌈n/100⌉ pages (at least one); absent = no poweroff */
  openAlertsListed?: number;
  /** alerts of powered-off hosts, one close each */
  alertsClosed?: number;
}

export interface ApiRow {
  api: string;
  rule: string;
  minimum: number;
  actual: number;
}

export interface Comparison {
  rows: ApiRow[];
  minimum: number;
  actual: number;
  /** actual / minimum */
  ratio: number;
  /** (actual − minimum) / minimum, in percent */
  overheadPercent: number;
}

const ceilDiv = (n: number, d: number) => Math.ceil(n / d);

const MEASURED = new Set([
  'GET /api/v0/hosts',
  'POST /api/v0/hosts/bulk-retire',
  'POST /api/v0/hosts/bulk-update-statuses',
  'POST /api/v0/monitoring/checks/report',
  'GET /api/v0/tsdb/latest',
  'POST /api/v0/graph-annotations',
  'GET /api/v0/alerts',
  'POST /api/v0/alerts/:id/close',
]);

export function compareWithMinimum(work: Work, calls: CallCounts): Comparison {
  const m = (route: string) => calls.mackerel[route] ?? 0;
  const rows: ApiRow[] = [
    { api: 'Mackerel GET /hosts', rule: '1 host list', minimum: 1, actual: m('GET /api/v0/hosts') },
    {
      api: 'EC2 DescribeInstances',
      rule: '⌈instances/1000⌉ per region',
      // a region must be asked even when it turns out empty
      minimum: work.instancesPerRegion.reduce((a, n) => a + Math.max(1, ceilDiv(n, 1000)), 0),
      actual: calls.ec2.DescribeInstances ?? 0,
    },
    {
      api: 'Mackerel POST /hosts/bulk-retire',
      rule: `⌈${work.retirements}/30⌉`,
      minimum: ceilDiv(work.retirements, 30),
      actual: m('POST /api/v0/hosts/bulk-retire'),
    },
    {
      api: 'Mackerel POST /hosts/bulk-update-statuses',
      rule:
        Object.entries(work.statusChanges)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([s, n]) => `⌈${n}/30⌉ ${s}`)
          .join(' + ') || '0',
      minimum: Object.values(work.statusChanges).reduce((a, n) => a + ceilDiv(n, 30), 0),
      actual: m('POST /api/v0/hosts/bulk-update-statuses'),
    },
    {
      api: 'Mackerel POST /monitoring/checks/report',
      rule: `⌈${work.checkReports}/100⌉`,
      minimum: ceilDiv(work.checkReports, 100),
      actual: m('POST /api/v0/monitoring/checks/report'),
    },
    {
      api: 'Mackerel GET /tsdb/latest',
      rule: work.silenceCandidates
        ? `⌈(${work.duplicateCandidates} duplicate + ${work.silenceCandidates} silence candidates)/100⌉`
        : `⌈${work.duplicateCandidates} duplicate candidates/100⌉`,
      minimum: ceilDiv(work.duplicateCandidates + (work.silenceCandidates ?? 0), 100),
      actual: m('GET /api/v0/tsdb/latest'),
    },
    {
      api: 'Mackerel POST /graph-annotations',
      rule: `1 per service acted on (${work.annotatedServices ?? 0})`,
      minimum: work.annotatedServices ?? 0,
      actual: m('POST /api/v0/graph-annotations'),
    },
    {
      api: 'EventBridge PutEvents',
      rule: `⌈${work.findings} entries/10⌉`,
      minimum: ceilDiv(work.findings, 10),
      actual: calls.eventBridge.PutEvents,
    },
  ];
  const tasks = work.tasksPerCluster ?? [];
  rows.push(
    {
      api: 'ECS DescribeTasks',
      rule: tasks.map((n) => `⌈${n}/100⌉`).join(' + ') || '0',
      minimum: tasks.reduce((a, n) => a + ceilDiv(n, 100), 0),
      actual: calls.ecs?.DescribeTasks ?? 0,
    },
    {
      api: 'Mackerel GET /alerts',
      rule: work.openAlertsListed === undefined ? 'no poweroff: 0' : `⌈${work.openAlertsListed}/100⌉ pages, once`,
      minimum: work.openAlertsListed === undefined ? 0 : Math.max(1, ceilDiv(work.openAlertsListed, 100)),
      actual: m('GET /api/v0/alerts'),
    },
    {
      api: 'Mackerel POST /alerts/:id/close',
      rule: `${work.alertsClosed ?? 0} alerts of powered-off hosts`,
      minimum: work.alertsClosed ?? 0,
      actual: m('POST /api/v0/alerts/:id/close'),
    },
  );
  for (const [action, n] of Object.entries(calls.ecs ?? {})) {
    if (action !== 'DescribeTasks') rows.push({ api: `ECS ${action}`, rule: 'not needed', minimum: 0, actual: n });
  }
  // Whatever else was called (a single retire, a host re-read, a role update) is over the minimum.
  for (const [route, n] of Object.entries(calls.mackerel)) {
    if (!MEASURED.has(route)) rows.push({ api: `Mackerel ${route}`, rule: 'not needed', minimum: 0, actual: n });
  }
  for (const [action, n] of Object.entries(calls.ec2)) {
    if (action !== 'DescribeInstances') rows.push({ api: `EC2 ${action}`, rule: 'not needed', minimum: 0, actual: n });
  }
  const minimum = rows.reduce((a, r) => a + r.minimum, 0);
  const actual = rows.reduce((a, r) => a + r.actual, 0);
  return {
    rows,
    minimum,
    actual,
    ratio: minimum === 0 ? Number.NaN : actual / minimum,
    overheadPercent: minimum === 0 ? Number.NaN : ((actual - minimum) / minimum) * 100,
  };
}
