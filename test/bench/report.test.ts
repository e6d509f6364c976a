import { describe, expect, it } from 'vitest';
import { machine } from '../../bench/machine.js';
import { FIGURES_END, FIGURES_START, growthSteps, renderFigures, spliceFigures } from '../../bench/report.js';
import type { Results } from '../../bench/results.js';

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
