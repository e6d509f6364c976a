/**
 * Sweep cost: the real sweep handler over the drifted fleet, every API call counted and set against the
 * fewest calls the same work could take. A first sweep at day 0 teaches the store which instances are this
 * account's and powers off the instances stopped then (so that the measured sweep can restore them).
 */
import type { Sandbox } from '../../sandbox/index.js';
import type { Report } from '../../shared/reconcile/run.js';
import { totals } from '../calls.js';
import { applyDrift, generateFleet, seedDay0, type Fleet } from '../fleet.js';
import { driftTasks, generateTasks, seedTasksDay0 } from '../fleet-tasks.js';
import { startHarness } from '../harness.js';
import { compareWithMinimum } from '../minimum.js';
import type { SweepResult } from '../results.js';

/** The circuit breaker would hold 500 retirements (default 50 / 20 %): lifted for the benchmark. */
export const SWEEP_BENCH_ENV = {
  MAX_RETIRE_PER_RUN: '1000000',
  MAX_RETIRE_PERCENT: '100',
  DUPLICATE_STALE_MINUTES: '30',
};

type Data = Omit<SweepResult, 'ranAt' | 'command' | 'quick' | 'seed' | 'machine'>;

const doneBy = (r: Report, kind: string) => r.actions.filter((a) => a.kind === kind && a.outcome === 'done');

/** What the run did that the fleet did not ask for, or did not do that it asked for. */
export function workProblems(fleet: Fleet, report: Report, taskRetirements = 0): string[] {
  const problems: string[] = [];
  const e = fleet.expected;
  const retired = doneBy(report, 'retire').length;
  const toRetire = e.retirements + taskRetirements;
  if (retired !== toRetire) problems.push(`retired ${retired} hosts, the fleet has ${toRetire} to retire`);
  const byTarget: Record<string, number> = {};
  for (const a of doneBy(report, 'set-status')) {
    const to = String(a.detail?.to);
    byTarget[to] = (byTarget[to] ?? 0) + 1;
  }
  for (const s of new Set([...Object.keys(byTarget), ...Object.keys(e.statusChanges)])) {
    if ((byTarget[s] ?? 0) !== (e.statusChanges[s] ?? 0)) {
      problems.push(`set ${byTarget[s] ?? 0} hosts to ${s}, the fleet needs ${e.statusChanges[s] ?? 0}`);
    }
  }
  const checks = doneBy(report, 'report-check').length;
  if (checks !== e.checkReports) problems.push(`reported ${checks} checks, the fleet needs ${e.checkReports}`);
  const failed = report.actions.filter((a) => a.outcome !== 'done');
  if (failed.length > 0) {
    problems.push(`${failed.length} actions not done: ${failed.slice(0, 3).map((a) => `${a.key} ${a.outcome}`).join(', ')}`);
  }
  if (report.circuitBreaker?.tripped) problems.push('the circuit breaker tripped');
  problems.push(...unreadableProblems(fleet, report));
  return problems;
}

/** Nothing may touch the odd hosts beside the fleet: any change made to one (from the fake's record). */
export function oddHostsTouched(fleet: Fleet, sb: Pick<Sandbox, 'mackerel'>): string[] {
  const odd = new Set(fleet.odd.map((o) => o.host.id));
  const touched = sb.mackerel.mutations.filter((m) => odd.has(m.hostId));
  return touched.length === 0 ? [] : [`${touched.length} change(s) made to odd hosts nothing may touch: ${touched.slice(0, 3).map((m) => `${m.kind} ${m.hostId}`).join(', ')}`];
}

/** The malformed odd hosts, and only they, are quarantined: listed in the report as unreadable, and untouched. */
export function unreadableProblems(fleet: Fleet, report: Report): string[] {
  const want = fleet.odd.filter((o) => o.malformed).map((o) => o.host.id as string).sort();
  const got = [...new Set((report.unreadableHosts ?? []).map((u) => u.id ?? `(no id) ${u.field}`))].sort();
  if (JSON.stringify(got) === JSON.stringify(want)) return [];
  return [`the report lists unreadable hosts [${got.join(', ')}], the fleet has malformed hosts [${want.join(', ')}]`];
}

export async function sweepBench(opts: { size: number; seed: number; latencyMs: number }): Promise<{ data: Data; fleet: Fleet }> {
  const fleet = generateFleet({ size: opts.size, seed: opts.seed });
  const h = await startHarness({ latencyMs: opts.latencyMs, seed: opts.seed, env: SWEEP_BENCH_ENV });
  try {
    seedDay0(fleet, h.sb);
    const tasks = generateTasks(fleet);
    seedTasksDay0(tasks, h.sb, fleet.nowS);
    const prep = await h.measure(() => h.sweep());
    const problems: string[] = [];
    const day0Poweroffs = doneBy(prep.result, 'set-status').length;
    const stoppedAtDay0 = fleet.instances.filter((i) => i.day0 === 'stopped').length;
    if (day0Poweroffs !== stoppedAtDay0) {
      problems.push(`the day-0 sweep powered off ${day0Poweroffs} hosts, ${stoppedAtDay0} instances were stopped`);
    }

    applyDrift(fleet, h.sb);
    driftTasks(tasks, fleet, h.sb);
    const run = await h.measure(() => h.sweep());
    problems.push(...workProblems(fleet, run.result, tasks.retirements), ...oddHostsTouched(fleet, h.sb));
    const closed = doneBy(run.result, 'close-alerts').length;
    if (closed !== tasks.alertsClosed) problems.push(`closed the alerts of ${closed} hosts, the fleet needs ${tasks.alertsClosed}`);

    // Host Retired for each stopped task's host, Alerts Closed for each powered-off host with an open alert
    const findings = fleet.expected.findings + tasks.retirements + tasks.alertsClosed;
    const published = run.calls.eventBridge.entries;
    if (published !== findings) {
      problems.push(`published ${published} findings, the fleet's drift makes ${findings}`);
    }
    const work = {
      instancesPerRegion: [fleet.instances.length],
      retirements: fleet.expected.retirements + tasks.retirements,
      statusChanges: fleet.expected.statusChanges,
      checkReports: fleet.expected.checkReports,
      duplicateCandidates: fleet.expected.duplicateCandidates,
      silenceCandidates: fleet.expected.silenceCandidates,
      annotatedServices: fleet.expected.annotatedServices,
      findings,
      tasksPerCluster: tasks.tasksPerCluster,
      openAlertsListed: (fleet.expected.statusChanges.poweroff ?? 0) > 0 ? tasks.openAlerts : undefined,
      alertsClosed: tasks.alertsClosed,
    };
    const cmp = compareWithMinimum(work, run.calls);
    return {
      fleet,
      data: {
        problems,
        latencyMs: opts.latencyMs,
        fleet: { instances: fleet.instances.length, hosts: fleet.hosts.length, regions: 1 },
        env: SWEEP_BENCH_ENV,
        work: {
          retirements: work.retirements,
          statusChanges: work.statusChanges,
          checkReports: work.checkReports,
          duplicateCandidates: work.duplicateCandidates,
          silenceCandidates: work.silenceCandidates,
          findings: work.findings,
        },
        rows: cmp.rows,
        minimum: cmp.minimum,
        actual: cmp.actual,
        overheadPercent: cmp.overheadPercent,
        dynamodb: run.calls.dynamodb,
        wallMs: run.wallMs,
        mackerelBytes: run.calls.bytes.mackerel,
        prep: { wallMs: prep.wallMs, totals: totals(prep.calls), dynamodb: prep.calls.dynamodb },
      },
    };
  } finally {
    await h.stop();
  }
}
