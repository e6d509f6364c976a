/**
 * Figures → tables, each with its goal and an honest verdict. The terminal output of `npm run bench` and the
 * figures section of BENCHMARKS.md are both rendered from results.json through here, so they cannot disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Section } from './args.js';
import type { Machine } from './machine.js';
import type {
  ColdResult,
  EventKind,
  EventResult,
  NaiveResult,
  PlannerResult,
  PlannerSize,
  Results,
  SweepResult,
  SweepScaleResult,
} from './results.js';
import { bytes, int, mb, ms, pct, ratio, renderMarkdown, seconds, type Table } from './tables.js';

export const SWEEP_GOAL_PERCENT = 5;
export const PLANNER_GOAL = { size: 100_000, ms: 2000, rssMB: 512 };
export const EVENT_GOALS: Record<string, { max: number; text: string; label: string }> = {
  'EC2 DescribeInstances': { max: 1, text: '1', label: 'one DescribeInstances' },
  'Mackerel host look-ups': { max: 3, text: '≤ 3 (filtered, never the whole list)', label: 'at most 3 filtered host look-ups' },
  'action calls (Mackerel writes + EC2 modify)': { max: 1, text: '1 (the action)', label: 'the action itself' },
  'Mackerel open-alerts listing': { max: 1, text: '≤ 1 (a poweroff only)', label: 'at most one alerts listing' },
  'DynamoDB requests': { max: 3, text: '≤ 3', label: 'at most 3 DynamoDB requests' },
};
/**
 * "It must grow linearly": judged on the time per host, which linear growth keeps constant. A 10× step may
 * cost up to this factor per host (sorting is n log n, and the machine is shared) before it counts as not linear.
 */
export const LINEAR_TOLERANCE = 1.5;

/** The first call's time per host, µs (the cost of one plan in a fresh process). */
export const firstPerHost = (sizes: readonly PlannerSize[]) =>
  sizes.map((s) => ({ size: s.size, perHostUs: (s.planMs.first * 1000) / s.hosts }));

/** Per-host time ratios between consecutive sizes, and whether each stays within the tolerance. */
export function growthSteps(sizes: readonly { size: number; perHostUs: number }[]) {
  return sizes.slice(1).map((s, i) => {
    const prev = sizes[i] as { size: number; perHostUs: number };
    const factor = s.perHostUs / prev.perHostUs;
    return { from: prev.size, to: s.size, factor, linear: factor <= LINEAR_TOLERANCE };
  });
}

const verdict = (met: boolean) => (met ? 'goal met' : 'goal NOT met');

function problemNotes(p: string[]): string[] {
  return p.map((x) => `⚠ PROBLEM — these figures are not to be trusted: ${x}`);
}

export function sweepTables(s: SweepResult): Table[] {
  const rows = s.rows.map((r) => [
    r.api,
    r.rule,
    int(r.minimum),
    int(r.actual),
    r.minimum === 0 ? (r.actual === 0 ? '' : `+${r.actual}`) : pct(((r.actual - r.minimum) / r.minimum) * 100),
  ]);
  rows.push(['all of the above', '', int(s.minimum), int(s.actual), pct(s.overheadPercent)]);
  const ddb = Object.entries(s.dynamodb)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${int(n)}`)
    .join(', ');
  const ddbTotal = Object.values(s.dynamodb).reduce((a, b) => a + b, 0);
  const prepDdb = s.prep.totals.dynamodb;
  const changes = Object.entries(s.work.statusChanges)
    .map(([k, n]) => `${n} → ${k}`)
    .join(', ');
  const describe = s.rows.find((r) => r.api === 'EC2 DescribeInstances');
  const recheck =
    describe && s.work.retirements > 0 && describe.actual - describe.minimum === s.fleet.regions
      ? [
          `the extra DescribeInstances (one per region with retirements) is the re-check right before retiring that docs/design.md's safety rules require; the issue's minimum does not count it`,
        ]
      : [];
  return [
    {
      title: `Sweep cost: ${int(s.fleet.instances)} instances, ${int(s.fleet.hosts)} hosts, ${s.fleet.regions} region, ${s.latencyMs} ms per API call`,
      headers: ['API', 'minimum rule', 'minimum', 'actual', 'over'],
      rows,
      numeric: [2, 3, 4],
      notes: [
        `${verdict(s.overheadPercent <= SWEEP_GOAL_PERCENT)}: ${pct(s.overheadPercent)} over the minimum (goal: within ${SWEEP_GOAL_PERCENT} %), ratio ${(s.actual / s.minimum).toFixed(3)}`,
        ...recheck,
        `work: ${s.work.retirements} retirements, status changes ${changes}, ${s.work.checkReports} duplicate-host reports, ${s.work.findings} findings`,
        `DynamoDB (no stated minimum): ${int(ddbTotal)} requests — ${ddb}`,
        `wall time of the measured sweep: ${seconds(s.wallMs)}${s.mackerelBytes === undefined ? '' : `, ${bytes(s.mackerelBytes)} read from Mackerel (every host with an agent's real meta)`}; the day-0 sweep before it (a fresh table: every sighting and link written): ${seconds(s.prep.wallMs)}, ${int(prepDdb)} DynamoDB requests`,
        `circuit breaker lifted for the benchmark: ${Object.entries(s.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`,
        ...problemNotes(s.problems),
      ],
    },
  ];
}

export function naiveTables(n: NaiveResult, s: SweepResult | undefined): Table[] {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const naiveMk = sum(n.calls.mackerel);
  const naiveEc2 = sum(n.calls.ec2);
  const rows: string[][] = [];
  const notes: string[] = [];
  if (s) {
    const mk = s.rows.filter((r) => r.api.startsWith('Mackerel')).reduce((a, r) => a + r.actual, 0);
    const ec2 = s.rows.filter((r) => r.api.startsWith('EC2')).reduce((a, r) => a + r.actual, 0);
    const eb = s.rows.filter((r) => r.api.startsWith('EventBridge')).reduce((a, r) => a + r.actual, 0);
    const ddb = sum(s.dynamodb);
    const comparable =
      s.fleet.instances === n.fleet.instances && s.latencyMs === n.latencyMs && s.seed === n.seed && s.quick === n.quick;
    rows.push([
      'reconciler sweep',
      int(mk),
      int(ec2),
      int(eb),
      int(mk + ec2),
      int(ddb),
      seconds(s.wallMs),
    ]);
    rows.push([`naive loop (concurrency ${n.concurrency})`, int(naiveMk), int(naiveEc2), '0', int(naiveMk + naiveEc2), '0', seconds(n.wallMs)]);
    rows.push([
      'naive ÷ reconciler',
      ratio(naiveMk / mk),
      ratio(naiveEc2 / ec2),
      '',
      ratio((naiveMk + naiveEc2) / (mk + ec2)),
      '',
      ratio(n.wallMs / s.wallMs),
    ]);
    if (!comparable) notes.push('⚠ the sweep and naive figures come from different runs (fleet, seed, latency or --quick differ): the ratios compare different things');
  } else {
    rows.push([`naive loop (concurrency ${n.concurrency})`, int(naiveMk), int(naiveEc2), '0', int(naiveMk + naiveEc2), '0', seconds(n.wallMs)]);
    notes.push('no sweep figures to compare with: run the sweep section too');
  }
  notes.push(
    `the naive loop: 1 host list, then per host naming an instance 1 DescribeInstances (that one id) and, when terminated, 1 POST /hosts/<id>/retire; it retired ${int(n.retired)} hosts`,
    ...(n.retiredForeign
      ? [`${int(n.retiredForeign)} of them not the fleet's: a host of another account's instance, which this account's EC2 does not know (the sweep's ownership check leaves it alone)`]
      : []),
    'it does less than the sweep: no stopped instances, no duplicates, no findings, no ownership check, no re-check before retiring, no ledger',
    ...problemNotes(n.problems),
  );
  return [
    {
      title: `Against the naive approach: the same ${int(n.fleet.instances)} instances / ${int(n.fleet.hosts)} hosts, ${n.latencyMs} ms per API call`,
      headers: ['approach', 'Mackerel', 'EC2', 'PutEvents', 'Mackerel + EC2', 'DynamoDB', 'wall time'],
      rows,
      numeric: [1, 2, 3, 4, 5, 6],
      notes,
    },
  ];
}

export function plannerTables(p: PlannerResult): Table[] {
  const rows = p.sizes.map((s) => [
    int(s.size),
    int(s.hosts),
    int(s.actions),
    ms(s.planMs.first),
    ms(s.planMs.median),
    ms(s.planGcMs.median),
    `${s.perHostUs.toFixed(1)} µs`,
    ms(s.linkFleetMs.median),
    mb(s.rssBeforeMB),
    mb(s.peakRssMB),
    mb(s.planRetainedMB),
  ]);
  const notes: string[] = [];
  const first = p.sizes[0];
  const last = p.sizes[p.sizes.length - 1];
  if (first && last && last !== first) {
    const judge = (which: string, sizes: { size: number; perHostUs: number }[]) => {
      const steps = growthSteps(sizes);
      return `${which}: ${sizes.map((x) => `${x.perHostUs.toFixed(1)} µs`).join(' → ')} per host, ${verdict(steps.every((st) => st.linear))} for linear growth (${steps.map((st) => `${int(st.from)} → ${int(st.to)} ${ratio(st.factor)}`).join(', ')}; tolerance ${LINEAR_TOLERANCE}× per step)`;
    };
    notes.push(
      `growth: ${int(last.size / first.size)}× the hosts took ${ratio(last.planMs.first / first.planMs.first)} the time on the first call, ${ratio(last.planMs.median / first.planMs.median)} warm (median); linear growth keeps the time per host constant`,
      judge('first call', firstPerHost(p.sizes)),
      judge('warm median', p.sizes),
    );
  }
  const goal = p.sizes.find((s) => s.size === PLANNER_GOAL.size);
  if (goal) {
    const met = goal.planMs.first < PLANNER_GOAL.ms && goal.planMs.max < PLANNER_GOAL.ms && goal.peakRssMB < PLANNER_GOAL.rssMB;
    notes.push(
      `${verdict(met)} at ${int(PLANNER_GOAL.size)}: plan() first run ${ms(goal.planMs.first)}, slowest ${ms(goal.planMs.max)} (goal < ${int(PLANNER_GOAL.ms)} ms); peak RSS of the whole process ${mb(goal.peakRssMB)} (goal < ${PLANNER_GOAL.rssMB} MB)`,
    );
  } else {
    notes.push(`no ${int(PLANNER_GOAL.size)}-instance run (quick mode?): the goal is not judged`);
  }
  notes.push(
    'each size in a fresh `node --expose-gc` process; plan() includes linkFleet(), which is also timed alone; "first" is the first call (cold JIT, as in a Lambda invocation), median over the runs',
    `peak RSS = the child's high-water resident set (${[...new Set(p.sizes.map((s) => s.peakRssSource))].join(', ')}) read right after its first plan(): the input observation, built in the same process, is included; "RSS before" = after building the input and a full GC; "plan result" = heap a plan holds after a full GC`,
    ...problemNotes(p.problems),
  );
  return [
    {
      title: 'Planner scaling: plan() alone, fresh process per size',
      headers: ['instances', 'hosts', 'actions', 'plan first', 'plan median', 'GC in plan', 'per host', 'linkFleet', 'RSS before', 'peak RSS', 'plan result'],
      rows,
      numeric: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      notes,
    },
  ];
}

/** Issue #9: an event costs the same, in calls and in bytes read, from 1,000 to 100,000 hosts, within this factor. */
export const EVENT_FLAT_GOAL = { factor: 1.3, from: 1000, to: 100_000 };

/** How much a per-event figure grows over organisation sizes: largest ÷ smallest (1 is flat). */
export function growthFactor(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return Number.NaN;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (max === 0) return 1;
  return min === 0 ? Number.POSITIVE_INFINITY : max / min;
}

export interface Flatness {
  /** mean calls (all APIs) and mean bytes read from Mackerel per event, by organisation size */
  sizes: { hosts: number; calls: number; bytes: number; failed: number }[];
  callsFactor: number;
  bytesFactor: number;
  /** both within the goal, over sizes spanning the goal's range, with no failed event */
  met: boolean;
  /** whether the sizes measured span EVENT_FLAT_GOAL.from … .to */
  spansGoal: boolean;
}

/** The goal of issue #9 judged on the runs that have per-event figures (older figures lack them). */
export function eventFlatness(runs: readonly EventResult['runs'][number][]): Flatness | undefined {
  const sizes = runs
    .filter((r) => r.callsPerEvent !== undefined && r.mackerelBytesPerEvent !== undefined)
    .map((r) => ({ hosts: r.fleet.hosts, instances: r.fleet.instances, calls: r.callsPerEvent as number, bytes: r.mackerelBytesPerEvent as number, failed: r.failed ?? 0 }));
  if (sizes.length < 2) return undefined;
  const callsFactor = growthFactor(sizes.map((x) => x.calls));
  const bytesFactor = growthFactor(sizes.map((x) => x.bytes));
  const instances = sizes.map((x) => x.instances);
  const spansGoal = Math.min(...instances) <= EVENT_FLAT_GOAL.from && Math.max(...instances) >= EVENT_FLAT_GOAL.to;
  const failed = sizes.some((x) => x.failed > 0);
  return {
    sizes: sizes.map(({ hosts, calls, bytes, failed: f }) => ({ hosts, calls, bytes, failed: f })),
    callsFactor,
    bytesFactor,
    met: !failed && callsFactor <= EVENT_FLAT_GOAL.factor && bytesFactor <= EVENT_FLAT_GOAL.factor,
    spansGoal,
  };
}

/** The Mackerel reads one invocation made, e.g. "GET /api/v0/hosts ×1". */
const readsOf = (k: EventKind) =>
  Object.entries(k.mackerel)
    .filter(([r]) => r.startsWith('GET '))
    .map(([r, n]) => `${r} ×${n}`)
    .join(', ') || 'none';

export function eventTables(e: EventResult): Table[] {
  const first = e.runs[0];
  if (!first) return [];
  const span = (v: { min: number; max: number } | undefined) =>
    v === undefined ? '–' : v.min === v.max ? `${int(v.min)}` : `${int(v.min)}–${int(v.max)}`;
  const families = Object.keys(first.kinds[0]?.calls ?? {});
  const rows = families.map((f) => {
    const goal = EVENT_GOALS[f];
    const all = e.runs.flatMap((r) => r.kinds);
    const cells = first.kinds.map((k) => span(k.calls[f]));
    const met = goal === undefined ? '' : all.every((k) => (k.calls[f]?.max ?? 0) <= goal.max) ? 'yes' : 'NO';
    return [f, goal?.text ?? '–', ...cells, met];
  });
  if (first.kinds.every((k) => k.callsPerEvent)) {
    rows.push(['all calls', '–', ...first.kinds.map((k) => span(k.callsPerEvent)), '']);
  }
  if (first.kinds.every((k) => k.mackerelBytes)) {
    rows.push(['bytes received from Mackerel', '–', ...first.kinds.map((k) => (k.mackerelBytes ? bytes(k.mackerelBytes.mean) : '–')), '']);
  }
  const detail = first.kinds.map(
    (k) =>
      `${k.kind}: Mackerel ${Object.entries(k.mackerel).map(([r, n]) => `${r} ×${n}`).join(', ')}; EC2 ${Object.entries(k.ec2).map(([r, n]) => `${r} ×${n}`).join(', ')}; DynamoDB ${Object.entries(k.dynamodb).map(([r, n]) => `${r} ×${n}`).join(', ')}`,
  );
  const sizes = e.runs.map((r) => int(r.fleet.hosts)).join(', ');
  const same = e.runs.every((r) =>
    families.every((f) => r.kinds.every((k, i) => span(k.calls[f]) === span(first.kinds[i]?.calls[f]))),
  );
  const allMet = rows.every((r) => r[r.length - 1] !== 'NO');
  const lat: string[][] = [];
  for (const r of e.runs) {
    for (const k of r.kinds) {
      lat.push([int(r.fleet.hosts), k.kind, int(k.events), ms(k.latencyMs.p50), ms(k.latencyMs.p99), ms(k.latencyMs.mean), ms(k.latencyMs.max)]);
    }
    lat.push([int(r.fleet.hosts), 'all', int(r.all.events), ms(r.all.p50), ms(r.all.p99), '', '']);
  }
  const tables: Table[] = [
    {
      title: `Event path: calls of one instance-state-change invocation, ${int(first.fleet.hosts)} hosts`,
      headers: ['calls', 'goal', ...first.kinds.map((k) => `${k.kind} event`), 'within goal'],
      rows,
      numeric: [2, 3],
      notes: [
        `${verdict(allMet)}; ${e.runs.length > 1 ? (same ? `the same counts at ${sizes} hosts` : `⚠ the counts differ between ${sizes} hosts (see the next table); shown: ${int(first.fleet.hosts)}`) : `measured at ${sizes} hosts`}`,
        ...detail,
        ...problemNotes(e.problems),
      ],
    },
  ];
  const flat = eventFlatness(e.runs);
  if (flat) {
    const bySize = e.runs.filter((r) => r.callsPerEvent !== undefined);
    const base = bySize[0];
    tables.push({
      title: `Event path by organisation size: what one event costs (issue #9), ${e.latencyMs} ms per API call`,
      headers: ['hosts in Mackerel', 'events', 'failed', 'calls / event', 'bytes from Mackerel / event', '× smallest', 'p50', 'p99', 'peak RSS', 'Mackerel reads of one event'],
      rows: bySize.map((r) => [
        int(r.fleet.hosts),
        int(r.all.events),
        int(r.failed ?? 0),
        (r.callsPerEvent ?? Number.NaN).toFixed(1),
        bytes(r.mackerelBytesPerEvent ?? Number.NaN),
        ratio((r.mackerelBytesPerEvent ?? Number.NaN) / (base?.mackerelBytesPerEvent ?? Number.NaN)),
        ms(r.all.p50),
        ms(r.all.p99),
        r.peakRssMB === undefined ? '–' : mb(r.peakRssMB),
        r.kinds[0] ? readsOf(r.kinds[0]) : '–',
      ]),
      numeric: [0, 1, 2, 3, 4, 5, 6, 7, 8],
      notes: [
        `${verdict(flat.met)} (calls and bytes per event flat within ${EVENT_FLAT_GOAL.factor}× from ${int(EVENT_FLAT_GOAL.from)} to ${int(EVENT_FLAT_GOAL.to)} hosts): calls grow ${ratio(flat.callsFactor)}, bytes ${ratio(flat.bytesFactor)} from the smallest organisation to the largest${flat.spansGoal ? '' : ' — over the sizes measured, not the goal\'s (quick run?)'}${flat.sizes.some((x) => x.failed > 0) ? '; some events FAILED' : ''}`,
        'calls / event counts every API call of one handler invocation (Mackerel, EC2, PutEvents, DynamoDB; retries included); bytes = response bodies the fake Mackerel wrote to it; both are means over the measured events',
        `peak RSS = high-water resident set (${[...new Set(bySize.map((r) => r.peakRssSource ?? '–'))].join(', ')}) of the process that handled the events, a warm container: module load and the warm-up event included; the fakes run in another process`,
        ...bySize.filter((r) => r.day0 && !r.day0.ok).map((r) => `⚠ at ${int(r.fleet.hosts)} hosts the day-0 sweep failed: ${r.day0?.error ?? ''}`),
      ],
    });
  }
  tables.push({
    title: `Event path: handler latency at ${e.latencyMs} ms per API call`,
    headers: ['hosts in Mackerel', 'event', 'events', 'p50', 'p99', 'mean', 'max'],
    rows: lat,
    numeric: [0, 2, 3, 4, 5, 6],
    notes: [
      'wall time around the handler call, one event at a time, each for a different instance of a fleet a sweep has seen; one warm-up event before them is not counted',
      `every host carries an agent's real meta (4–6 KB of JSON); the Mackerel reads of one event: ${e.runs.map((r) => `${int(r.fleet.hosts)} hosts ${r.kinds[0] ? readsOf(r.kinds[0]) : '–'}`).join('; ')}`,
      `DynamoDB (dynalite, in memory) is not slowed down; the fake Mackerel, EC2 and EventBridge answer after ${e.latencyMs} ms`,
    ],
  });
  return tables;
}

/** Issue #16 and #9: what the sweep may take at scale (MB = 2^20 bytes, as everywhere here). */
export const SWEEP_SCALE_GOALS: readonly { size: number; rssMB: number; wallMs?: number }[] = [
  { size: 10_000, rssMB: 1024 },
  { size: 50_000, rssMB: 1536, wallMs: 5 * 60_000 },
];

/** Each goal met or not at the sizes measured; a failed sweep meets none. */
export function sweepScaleVerdicts(r: SweepScaleResult): { goal: string; measured: string; met: boolean }[] {
  const out: { goal: string; measured: string; met: boolean }[] = [];
  for (const g of SWEEP_SCALE_GOALS) {
    const s = r.sizes.find((x) => x.instances === g.size);
    if (!s) continue;
    const failed = s.ok ? (s.workDone ? '' : 'the sweep ran, but did not do the fleet\'s work (see the problems)') : `FAILED: ${s.error ?? 'no report'}`;
    const rss = s.peakRssMB === undefined ? '–' : mb(s.peakRssMB);
    out.push({
      goal: `sweep at ${int(g.size)} instances: peak RSS under ${gb(g.rssMB)}`,
      measured: failed || `peak RSS ${rss}`,
      met: s.ok && s.workDone && s.peakRssMB !== undefined && s.peakRssMB < g.rssMB,
    });
    if (g.wallMs !== undefined) {
      out.push({
        goal: `sweep at ${int(g.size)} instances: under ${seconds(g.wallMs)} (${g.wallMs / 60_000} minutes)`,
        measured: failed || `wall time ${seconds(s.wallMs)}`,
        met: s.ok && s.workDone && s.wallMs < g.wallMs,
      });
    }
  }
  return out;
}

const gb = (mbValue: number) => `${(mbValue / 1024).toFixed(mbValue % 1024 === 0 ? 0 : 1)} GB`;

export function sweepScaleTables(r: SweepScaleResult): Table[] {
  const rows = r.sizes.map((s) => [
    int(s.instances),
    int(s.hosts),
    s.ok ? (s.workDone ? 'ok' : 'ran, work NOT done') : 'FAILED',
    seconds(s.wallMs),
    s.peakRssMB === undefined ? '–' : mb(s.peakRssMB),
    bytes(s.mackerelBytes),
    bytes(s.ec2Bytes),
    int(s.calls.mackerel),
    int(s.calls.ec2),
    int(s.calls.dynamodb),
    `${s.day0.ok ? '' : 'FAILED, '}${seconds(s.day0.wallMs)}`,
    s.day0.peakRssMB === undefined ? '–' : mb(s.day0.peakRssMB),
  ]);
  const verdicts = sweepScaleVerdicts(r);
  const listing = r.sizes.find((s) => (s.mackerelRoutes['GET /api/v0/hosts'] ?? 0) > 0);
  return [
    {
      title: `Sweep at scale: one host each with an agent's real meta, ${r.latencyMs} ms per API call, each sweep in a fresh process`,
      headers: ['instances', 'hosts', 'sweep', 'wall time', 'peak RSS', 'read from Mackerel', 'read from EC2', 'Mackerel calls', 'EC2 calls', 'DynamoDB', 'day-0 sweep', 'day-0 peak RSS'],
      rows,
      numeric: [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11],
      notes: [
        ...verdicts.map((v) => `${verdict(v.met)}: ${v.goal} — ${v.measured}`),
        ...(verdicts.length === 0 ? [`no ${SWEEP_SCALE_GOALS.map((g) => int(g.size)).join(' / ')}-instance run (quick mode?): the goals are not judged`] : []),
        `the measured sweep follows a day-0 sweep over a fresh table (every sighting written) and the fleet's drift (5 % terminated, 3 % stop/start, 0.5 % duplicates); "read from" = response bodies the fakes wrote to the sweep`,
        `peak RSS = high-water resident set (${[...new Set(r.sizes.map((s) => s.peakRssSource ?? '–'))].join(', ')}) of the process that ran the one sweep, module load included: the fake servers and dynalite run in another process`,
        ...(listing ? [`Mackerel reads of the sweep at ${int(listing.instances)}: ${Object.entries(listing.mackerelRoutes).filter(([k]) => k.startsWith('GET')).map(([k, n]) => `${k} ×${n}`).join(', ')} (retries included)`] : []),
        ...problemNotes(r.problems),
      ],
    },
  ];
}

export function coldTables(c: ColdResult): Table[] {
  const runs = c.functions[0]?.runs ?? 0;
  const o = c.options;
  const optionText = ['bundle', 'minify', 'platform', 'format', 'target', 'sourcemap']
    .filter((k) => o[k] !== undefined)
    .map((k) => `${k}=${JSON.stringify(o[k])}`)
    .join(', ');
  return [
    {
      title: 'Cold start: bundle size and module load in a fresh Node process',
      headers: ['function', 'bundle', 'gzip', `import (median of ${runs})`, 'min–max', 'process start → loaded', 'first invocation'],
      rows: c.functions.map((f) => [
        f.name,
        bytes(f.bytes),
        bytes(f.gzipBytes),
        ms(f.importMs.median),
        `${ms(f.importMs.min)} – ${ms(f.importMs.max)}`,
        ms(f.readyMs.median),
        f.firstInvoke.ok ? `ok, ${ms(f.firstInvoke.ms)}` : `FAILED: ${f.firstInvoke.detail}`,
      ]),
      numeric: [1, 2, 3, 5],
      notes: [
        `esbuild options (${c.optionsSource}): ${optionText}; the source map is written beside the bundle and not counted`,
        'import = `await import(bundle)` timed inside a fresh `node` process with a bare environment; "process start → loaded" adds Node\'s own boot (performance.now() at load)',
        'first invocation = a fresh process that imports the bundle and calls its handler once against the sandbox (no injected latency): proof that the bundle runs, not only loads',
        ...c.functions.slice(0, 1).map(
          (f) => `what weighs in a bundle (${f.name}; the others are alike): ${f.largest.map((l) => `${l.name} ${bytes(l.bytes)}`).join(', ')}`,
        ),
        ...problemNotes(c.problems),
      ],
    },
  ];
}

export function sectionTables(results: Results, section: Section): Table[] {
  switch (section) {
    case 'sweep':
      return results.sweep ? sweepTables(results.sweep) : [];
    case 'naive':
      return results.naive ? naiveTables(results.naive, results.sweep) : [];
    case 'planner':
      return results.planner ? plannerTables(results.planner) : [];
    case 'event':
      return results.event ? eventTables(results.event) : [];
    case 'sweep-scale':
      return results['sweep-scale'] ? sweepScaleTables(results['sweep-scale']) : [];
    case 'cold':
      return results.cold ? coldTables(results.cold) : [];
  }
}

/** One row per goal of issue #5, judged from whatever figures results.json holds. */
export function goalsTable(r: Results): Table {
  const rows: string[][] = [];
  const yes = (met: boolean) => (met ? 'met' : 'NOT met');
  if (r.sweep) {
    rows.push([
      `sweep: calls within ${SWEEP_GOAL_PERCENT} % of the minimum`,
      `${int(r.sweep.actual)} calls for a minimum of ${int(r.sweep.minimum)} (${pct(r.sweep.overheadPercent)})`,
      yes(r.sweep.overheadPercent <= SWEEP_GOAL_PERCENT),
    ]);
  }
  if (r.naive && r.sweep) {
    const sum = (x: Record<string, number>) => Object.values(x).reduce((a, b) => a + b, 0);
    const mine = r.sweep.rows.filter((x) => !x.api.startsWith('EventBridge')).reduce((a, x) => a + x.actual, 0);
    rows.push([
      'naive loop ÷ sweep (no goal: a ratio)',
      `${ratio((sum(r.naive.calls.mackerel) + sum(r.naive.calls.ec2)) / mine)} the Mackerel + EC2 calls, ${ratio(r.naive.wallMs / r.sweep.wallMs)} the wall time`,
      '–',
    ]);
  }
  const big = r.planner?.sizes.find((x) => x.size === PLANNER_GOAL.size);
  if (big) {
    rows.push([
      `planner: ${int(PLANNER_GOAL.size)} instances under ${int(PLANNER_GOAL.ms)} ms`,
      `first run ${ms(big.planMs.first)}, median ${ms(big.planMs.median)}, slowest ${ms(big.planMs.max)}`,
      yes(big.planMs.first < PLANNER_GOAL.ms && big.planMs.max < PLANNER_GOAL.ms),
    ]);
    rows.push([
      `planner: ${int(PLANNER_GOAL.size)} instances under ${PLANNER_GOAL.rssMB} MB`,
      `peak RSS ${mb(big.peakRssMB)} (whole process, input included)`,
      yes(big.peakRssMB < PLANNER_GOAL.rssMB),
    ]);
  }
  if (r.planner && r.planner.sizes.length > 1) {
    for (const [which, sizes] of [
      ['first call', firstPerHost(r.planner.sizes)],
      ['warm median', r.planner.sizes],
    ] as const) {
      const steps = growthSteps(sizes);
      rows.push([
        `planner: linear growth, ${which} (time per host within ${LINEAR_TOLERANCE}× per 10× step)`,
        `${sizes.map((x) => `${x.perHostUs.toFixed(1)} µs`).join(' → ')} per host (${sizes.map((x) => int(x.size)).join(' / ')}): steps ${steps.map((st) => ratio(st.factor)).join(', ')}`,
        yes(steps.every((st) => st.linear)),
      ]);
    }
  }
  const run = r.event?.runs[0];
  if (run) {
    for (const [family, goal] of Object.entries(EVENT_GOALS)) {
      const per = run.kinds.map((k) => `${k.kind} ${k.calls[family]?.max ?? '–'}`).join(', ');
      const met = (r.event?.runs ?? []).every((x) => x.kinds.every((k) => (k.calls[family]?.max ?? 0) <= goal.max));
      rows.push([`event: ${goal.label}`, per, yes(met)]);
    }
    const flat = eventFlatness(r.event?.runs ?? []);
    if (flat) {
      const range = `${int(flat.sizes[0]?.hosts ?? 0)} → ${int(flat.sizes[flat.sizes.length - 1]?.hosts ?? 0)} hosts`;
      const failed = flat.sizes.some((x) => x.failed > 0) ? '; some events FAILED' : '';
      rows.push([
        `event: calls per event flat within ${EVENT_FLAT_GOAL.factor}× (${int(EVENT_FLAT_GOAL.from)} → ${int(EVENT_FLAT_GOAL.to)} hosts)`,
        `${flat.sizes.map((x) => x.calls.toFixed(1)).join(' → ')} (${range}): ${ratio(flat.callsFactor)}${failed}`,
        yes(flat.callsFactor <= EVENT_FLAT_GOAL.factor && !failed) + (flat.spansGoal ? '' : ' (sizes of a quick run)'),
      ]);
      rows.push([
        `event: bytes from Mackerel per event flat within ${EVENT_FLAT_GOAL.factor}×`,
        `${flat.sizes.map((x) => bytes(x.bytes)).join(' → ')} (${range}): ${ratio(flat.bytesFactor)}${failed}`,
        yes(flat.bytesFactor <= EVENT_FLAT_GOAL.factor && !failed) + (flat.spansGoal ? '' : ' (sizes of a quick run)'),
      ]);
    }
    for (const x of r.event?.runs ?? []) {
      rows.push([
        `event: p50 / p99 at ${r.event?.latencyMs} ms per call (no goal)`,
        `${ms(x.all.p50)} / ${ms(x.all.p99)} with ${int(x.fleet.hosts)} hosts${x.peakRssMB === undefined ? '' : `, peak RSS ${mb(x.peakRssMB)}`}`,
        '–',
      ]);
    }
  }
  if (r['sweep-scale']) {
    for (const v of sweepScaleVerdicts(r['sweep-scale'])) rows.push([v.goal, v.measured, yes(v.met)]);
    const big = r['sweep-scale'].sizes.find((s) => s.instances === 100_000);
    if (big) {
      rows.push([
        'sweep at 100,000 instances (no goal)',
        big.ok && big.workDone ? `${seconds(big.wallMs)}, peak RSS ${big.peakRssMB === undefined ? '–' : mb(big.peakRssMB)}, ${bytes(big.mackerelBytes)} from Mackerel` : big.ok ? 'ran, but did not do the fleet\'s work' : `FAILED: ${big.error ?? ''}`,
        '–',
      ]);
    }
  }
  if (r.cold) {
    const sizes = r.cold.functions.map((f) => f.bytes);
    const imports = r.cold.functions.map((f) => f.importMs.median);
    rows.push([
      'cold start (no goal)',
      `bundles ${bytes(Math.min(...sizes))}–${bytes(Math.max(...sizes))}, import ${ms(Math.min(...imports))}–${ms(Math.max(...imports))}; first invocation ${r.cold.functions.every((f) => f.firstInvoke.ok) ? 'ok for every function' : 'FAILED for some'}`,
      '–',
    ]);
  }
  return { title: 'Against the goals of issues #5, #9 and #16', headers: ['goal', 'measured', 'verdict'], rows };
}

const machineText = (m: Machine) =>
  `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.os}`;

/** The generated part of BENCHMARKS.md. */
export function renderFigures(results: Results, sections: readonly Section[]): string {
  const out: string[] = [];
  const present = sections.filter((s) => results[s] !== undefined);
  const machines = [...new Set(present.map((s) => machineText((results[s] as { machine: Machine }).machine)))];
  out.push(`Machine: ${machines.join('; ')}.`, '');
  out.push('| section | measured at | command | load average (1/5/15 min) at start |', '|---|---|---|---|');
  for (const s of present) {
    const r = results[s] as { ranAt: string; command: string; machine: Machine; quick: boolean; seed: number };
    out.push(
      `| ${s} | ${r.ranAt}${r.quick ? ' (quick)' : ''} | \`${r.command}\` (seed ${r.seed}) | ${r.machine.loadAverage.join(' / ')} |`,
    );
  }
  out.push('', renderMarkdown(goalsTable(results)));
  for (const s of sections) {
    const tables = sectionTables(results, s);
    if (tables.length === 0) {
      out.push('', `#### ${s}`, '', 'not measured yet: `npm run bench -- --only ' + s + ' --write`');
      continue;
    }
    for (const t of tables) out.push('', renderMarkdown(t));
  }
  return out.join('\n');
}

export const FIGURES_START = '<!-- bench:figures:start (generated by `npm run bench -- --write`; do not edit by hand) -->';
export const FIGURES_END = '<!-- bench:figures:end -->';

export class DocMarkersError extends Error {
  override name = 'DocMarkersError';
}

/** Replaces the text between the markers of `doc` with `figures`. */
export function spliceFigures(doc: string, figures: string): string {
  const start = doc.indexOf(FIGURES_START);
  const end = doc.indexOf(FIGURES_END);
  if (start < 0 || end < 0 || end < start) {
    throw new DocMarkersError(`the document lacks the figures markers "${FIGURES_START}" … "${FIGURES_END}"`);
  }
  return `${doc.slice(0, start + FIGURES_START.length)}\n${figures}\n${doc.slice(end)}`;
}

export function writeFigures(docPath: string, results: Results, sections: readonly Section[]): void {
  const doc = readFileSync(docPath, 'utf8');
  writeFileSync(docPath, spliceFigures(doc, renderFigures(results, sections)));
}
