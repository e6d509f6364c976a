import { describe, expect, it } from 'vitest';
import { machine } from '../../bench/machine.js';
import {
  eventFlatness,
  FIGURES_END,
  FIGURES_START,
  goalsTable,
  growthFactor,
  growthSteps,
  renderFigures,
  spliceFigures,
  sweepScaleVerdicts,
} from '../../bench/report.js';
import { type EventRun, type Results, resultsPaths, type SweepScaleResult, type SweepScaleSize } from '../../bench/results.js';

const doc = `# Benchmarks\n\nprose stays\n\n${FIGURES_START}\nold figures\n${FIGURES_END}\n\nmore prose\n`;

const plannerOnly: Results = {
  schema: 1,
  planner: {
    ranAt: '2025-11-21T00:00:00.000Z',
    command: 'npm run bench -- --only planner',
    quick: false,
    seed: 1,
    machine: machine(),
    problems: [],
    sizes: [
      {
        size: 100_000,
        hosts: 100_500,
        actions: 8500,
        runs: 5,
        linkFleetMs: { first: 600, median: 500 },
        planMs: { first: 2500, median: 1500, max: 2500 },
        planGcMs: { first: 200, median: 150 },
        perHostUs: 15,
        rssBeforeMB: 360,
        peakRssMB: 430,
        peakRssSource: 'VmHWM',
        planRetainedMB: 13,
      },
    ],
  },
};

describe('BENCHMARKS.md figures', () => {
  it('replaces only the text between the markers', () => {
    const out = spliceFigures(doc, 'new figures');
    expect(out).toContain('prose stays');
    expect(out).toContain('more prose');
    expect(out).toContain(`${FIGURES_START}\nnew figures\n${FIGURES_END}`);
    expect(out).not.toContain('old figures');
  });

  it('refuses a document without the markers', () => {
    expect(() => spliceFigures('# nothing here', 'x')).toThrow(/lacks the figures markers/);
  });

  it('judges a goal from the figures: a slow first plan() at 100k is reported as not met', () => {
    const md = renderFigures(plannerOnly, ['planner']);
    expect(md).toContain('goal NOT met at 100,000');
    expect(md).toContain('first run 2,500 ms');
  });

  it('says which sections have no figures yet', () => {
    const md = renderFigures(plannerOnly, ['planner', 'cold']);
    expect(md).toContain('npm run bench -- --only cold --write');
  });
});

describe('linear growth of the planner', () => {
  it.each([
    [[10, 12, 14], [true, true]],
    [[10, 12, 30], [true, false]],
  ])('per-host times %j: each 10× step judged linear within the tolerance → %j', (perHost, expected) => {
    const sizes = perHost.map((perHostUs, i) => ({ size: 1000 * 10 ** i, perHostUs }));
    expect(growthSteps(sizes).map((s) => s.linear)).toEqual(expected);
  });
});

describe('an event costs the same at every organisation size (issue #9)', () => {
  const run = (instances: number, callsPerEvent: number, mackerelBytesPerEvent: number, failed = 0): EventRun => ({
    fleet: { instances, hosts: instances + 6 },
    kinds: [],
    all: { events: 10, p50: 100, p99: 120 },
    callsPerEvent,
    mackerelBytesPerEvent,
    failed,
  });

  it.each([
    [[7, 7, 7], 1],
    [[100, 130], 1.3],
    [[130, 100, 115], 1.3],
    [[0, 0], 1],
    [[0, 5], Number.POSITIVE_INFINITY],
    [[5], Number.NaN],
  ])('growth of %j is %d (largest ÷ smallest)', (values, expected) => {
    expect(growthFactor(values)).toEqual(expected);
  });

  it('is met when calls and bytes per event stay within 1.3× from 1,000 to 100,000 hosts', () => {
    const flat = eventFlatness([run(1000, 7, 30_000), run(10_000, 7, 33_000), run(100_000, 8, 36_000)]);
    expect(flat).toMatchObject({ met: true, spansGoal: true });
    expect(flat?.callsFactor).toBeCloseTo(8 / 7);
    expect(flat?.bytesFactor).toBeCloseTo(1.2);
  });

  it('is not met when the bytes follow the organisation, or when an event failed', () => {
    expect(eventFlatness([run(1000, 7, 5e6), run(100_000, 7, 5e8)])).toMatchObject({ met: false, callsFactor: 1, bytesFactor: 100 });
    expect(eventFlatness([run(1000, 7, 30_000), run(100_000, 7, 30_000, 2)])?.met).toBe(false);
  });

  it('says when the sizes do not span the goal, and judges nothing without two sizes of per-event figures', () => {
    expect(eventFlatness([run(200, 7, 1), run(2000, 7, 1)])?.spansGoal).toBe(false);
    expect(eventFlatness([run(1000, 7, 1)])).toBeUndefined();
    const { callsPerEvent: _c, mackerelBytesPerEvent: _b, ...old } = run(1000, 7, 1);
    expect(eventFlatness([old, run(100_000, 7, 1)])).toBeUndefined();
  });
});

describe('the sweep at scale (issues #9 and #16)', () => {
  const step = (over: Partial<SweepScaleSize> = {}) => ({
    ok: true,
    wallMs: 60_000,
    peakRssMB: 800,
    peakRssSource: 'VmHWM',
    mackerelBytes: 50e6,
    ec2Bytes: 9e6,
    calls: { mackerel: 20, ec2: 11, eventBridge: 85, dynamodb: 1700 },
    mackerelRoutes: { 'GET /api/v0/hosts': 1 },
    ...over,
  });
  const size = (instances: number, over: Partial<SweepScaleSize> = {}): SweepScaleSize => ({
    instances,
    hosts: instances + 56,
    workDone: true,
    ...step(over),
    day0: step(),
  });
  const result = (sizes: SweepScaleSize[]): SweepScaleResult => ({
    ranAt: '2026-11-30T00:00:00.000Z',
    command: 'npm run bench -- --only sweep-scale',
    quick: false,
    seed: 1,
    machine: machine(),
    problems: [],
    latencyMs: 20,
    sizes,
  });

  it('judges 10k under 1 GB and 50k under 5 minutes and 1.5 GB', () => {
    const v = sweepScaleVerdicts(result([size(10_000, { peakRssMB: 900 }), size(50_000, { wallMs: 290_000, peakRssMB: 1600 })]));
    expect(v.map((x) => [x.goal, x.met])).toEqual([
      ['sweep at 10,000 instances: peak RSS under 1 GB', true],
      ['sweep at 50,000 instances: peak RSS under 1.5 GB', false],
      ['sweep at 50,000 instances: under 300.00 s (5 minutes)', true],
    ]);
  });

  it('counts a failed sweep as missing every goal, and shows its error in the figures', () => {
    const error = 'MackerelNetworkError: Mackerel API GET /api/v0/hosts: no answer within 10000 ms';
    const r = result([size(50_000, { ok: false, error, wallMs: 41_000, peakRssMB: 2900 })]);
    expect(sweepScaleVerdicts(r).every((v) => !v.met && v.measured === `FAILED: ${error}`)).toBe(true);
    const md = renderFigures({ schema: 1, 'sweep-scale': r }, ['sweep-scale']);
    expect(md).toContain('| 50,000 | 50,056 | FAILED | 41.00 s | 2900.0 MB |');
    expect(md).toContain(error);
    expect(goalsTable({ schema: 1, 'sweep-scale': r }).rows.map((row) => row[2])).toEqual(['NOT met', 'NOT met']);
  });

  it('does not count a sweep that ran without doing the fleet\'s work (skipped for the lease, say) as meeting a goal', () => {
    const v = sweepScaleVerdicts(result([size(10_000, { workDone: false, wallMs: 50, peakRssMB: 90 })]));
    expect(v).toEqual([expect.objectContaining({ met: false, measured: expect.stringMatching(/did not do the fleet's work/) })]);
  });
});

describe('where the figures go', () => {
  it('writes the tracked results.json only with --write; any other run its own untracked file', () => {
    const root = '/repo';
    expect(resultsPaths(root, true, () => true)).toEqual({ from: '/repo/bench/results.json', to: '/repo/bench/results.json' });
    expect(resultsPaths(root, false, () => true)).toEqual({ from: '/repo/bench/.last-results.json', to: '/repo/bench/.last-results.json' });
    expect(resultsPaths(root, false, () => false)).toEqual({ from: '/repo/bench/results.json', to: '/repo/bench/.last-results.json' });
  });
});
