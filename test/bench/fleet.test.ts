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

  it('carries the odd hosts beside it; the planner sees the well-formed ones, the malformed ones are quarantined', () => {
    const f = generateFleet({ size: 300, seed: SEED, nowS: 1_700_000_000 });
    const malformed = f.odd.filter((o) => o.malformed).map((o) => o.host.id);
    expect(malformed).toHaveLength(2);
    const ids = new Set(observationOf(f).hosts.map((h) => h.id));
    expect(malformed.filter((id) => ids.has(id as string))).toEqual([]);
    expect(f.odd.filter((o) => !o.malformed).every((o) => ids.has(o.host.id as string))).toBe(true);
    expect(ids.size).toBe(f.hosts.length + f.odd.length - malformed.length);
  });

  it('gives the planner what the client keeps of each agent host: meta.cloud (none for a duplicate) and the agent version', () => {
    const f = generateFleet({ size: 1000, seed: SEED, nowS: 1_700_000_000 });
    const obs = observationOf(f);
    const dupIds = new Set(f.hosts.filter((h) => h.kind === 'agent-dup').map((h) => h.id));
    const fleetHosts = obs.hosts.filter((x) => f.hosts.some((y) => y.id === x.id));
    expect(fleetHosts).toHaveLength(f.hosts.length);
    for (const h of fleetHosts) {
      expect(h.meta.cloud === undefined).toBe(dupIds.has(h.id));
      expect(h.meta['agent-version']).toMatch(/^0\.\d+\.\d+$/);
      // the agent's cpu, memory, disks: cut down by the client before the planner sees the host
      expect(Object.keys(h.meta).every((k) => k === 'cloud' || k === 'agent-version')).toBe(true);
    }
  });
});
