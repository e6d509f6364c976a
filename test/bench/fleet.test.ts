import { describe, expect, it } from 'vitest';
import { BENCH_POLICY, generateFleet, observationOf } from '../../bench/fleet.js';
import { plan } from '../../shared/reconcile/plan.js';

const SEED = 424242;

describe('the benchmark fleet', () => {
  it('has the issue\'s drift at 10,000 instances: 500 to retire, 300 status changes, 50 duplicates', () => {
    console.log(`seed ${SEED}`);
    const f = generateFleet({ size: 10_000, seed: SEED });
    expect(f.instances).toHaveLength(10_000);
    expect(f.hosts).toHaveLength(10_050);
    expect(f.expected.retirements).toBe(500);
    const changes = Object.values(f.expected.statusChanges).reduce((a, b) => a + b, 0);
    expect(changes).toBe(300);
    expect(f.expected.statusChanges.poweroff).toBe(150);
    expect(f.expected.checkReports).toBe(50);
  });

  it('is the same fleet for the same seed', () => {
    const a = generateFleet({ size: 500, seed: SEED, nowS: 1_700_000_000 });
    const b = generateFleet({ size: 500, seed: SEED, nowS: 1_700_000_000 });
    expect(b).toEqual(a);
  });

  it('refuses a size too small to hold the drift, naming it', () => {
    expect(() => generateFleet({ size: 10, seed: SEED })).toThrow(/size must be an integer ≥ 100/);
  });

  it('gives the planner exactly the work the sweep benchmark expects', () => {
    console.log(`seed ${SEED}`);
    const f = generateFleet({ size: 2000, seed: SEED });
    const p = plan(observationOf(f), BENCH_POLICY);
    const kinds = (k: string) => p.actions.filter((a) => a.kind === k);
    expect(kinds('retire')).toHaveLength(f.expected.retirements);
    const byTarget: Record<string, number> = {};
    for (const a of kinds('set-status')) if (a.kind === 'set-status') byTarget[a.to] = (byTarget[a.to] ?? 0) + 1;
    expect(byTarget).toEqual(f.expected.statusChanges);
    expect(kinds('report-check')).toHaveLength(f.expected.checkReports);
    const changes = Object.values(f.expected.statusChanges).reduce((a, b) => a + b, 0);
    expect(p.actions).toHaveLength(f.expected.retirements + changes + f.expected.checkReports);
    expect(p.ambiguities).toEqual([]);
  });
});
