/**
 * The reliability suite, small and seeded (issue #5); `npm run chaos` runs the same engine at 1,000 instances.
 * Replay a failure with TEST_SEED=<seed>, or `npm run chaos -- --seed <seed> --instances 80`.
 */
import { describe, expect, it } from 'vitest';
import { judge, summaryLine } from '../../chaos/checks.js';
import { runChaos } from '../../chaos/engine.js';
import { expectedHosts } from '../../chaos/scenario.js';

const seed = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`chaos seed ${seed}`);

describe('chaos: a seeded fleet through the real handlers, with faults', () => {
  it('ends with the expected hosts, each action done once, no live or foreign host touched', { timeout: 180_000 }, async () => {
    const run = await runChaos({ seed, instances: 80, ticks: 36 });
    const verdict = judge(run);
    console.log(summaryLine(run, verdict));

    // The run was a real one: events duplicated and reordered, faults injected, handlers killed, work done.
    expect(run.tally.duplicateCopies).toBeGreaterThan(0);
    expect(run.tally.outOfOrder).toBeGreaterThan(0);
    expect(verdict.faults.mackerel500 + verdict.faults.mackerel429).toBeGreaterThan(0);
    expect(verdict.faults.ec2Throttled).toBeGreaterThan(0);
    expect(run.tally.killedHandlers).toBeGreaterThan(0);
    const expected = [...expectedHosts(run.scenario).values()];
    expect(verdict.actions.retired).toBe(expected.filter((e) => e.retired).length);

    expect(verdict.violations).toEqual([]);
    expect(verdict).toMatchObject({
      lost: 0,
      wrong: 0,
      doubleActions: 0,
      liveRetired: 0,
      foreignTouched: 0,
      notConverged: 0,
    });
  });
});
