/**
 * The benchmark sections at a small scale, over real HTTP against the sandbox: the calls they count are the
 * calls the sandbox saw, and the work they measure is the work their fleet asks for. No timings asserted.
 */
import { describe, expect, it } from 'vitest';
import { eventBench } from '../../bench/sections/event.js';
import { naiveBench } from '../../bench/sections/naive.js';
import { sweepBench } from '../../bench/sections/sweep.js';
import { sweepScaleSize } from '../../bench/sections/sweep-scale.js';
import { startHarness } from '../../bench/harness.js';

const SEED = Number(process.env.TEST_SEED ?? 97_531);

describe('benchmark sections (small fleets, no latency)', () => {
  it('sweep: counts every API call and sets it against the minimum for the fleet\'s drift', async () => {
    console.log(`seed ${SEED}`);
    const { data, fleet } = await sweepBench({ size: 300, seed: SEED, latencyMs: 0 });

    expect(data.problems).toEqual([]);
    expect(fleet.expected.retirements).toBe(15);
    const row = (api: string) => data.rows.find((r) => r.api === api);
    expect(row('Mackerel GET /hosts')).toMatchObject({ minimum: 1, actual: 1 });
    expect(row('Mackerel POST /hosts/bulk-retire')).toMatchObject({ minimum: 1, actual: 1 });
    expect(row('EventBridge PutEvents')?.actual).toBe(row('EventBridge PutEvents')?.minimum);
    // one page of instances; no re-check, EC2 itself said terminated in this run
    expect(row('EC2 DescribeInstances')).toMatchObject({ minimum: 1, actual: 1 });
    expect(data.dynamodb.Scan).toBeGreaterThan(0);
    expect(data.dynamodb.UpdateItem).toBeGreaterThan(0);
  });

  it('naive: one DescribeInstances per host naming an instance and one retire per terminated instance', async () => {
    console.log(`seed ${SEED}`);
    const data = await naiveBench({ size: 300, seed: SEED, latencyMs: 0 });

    expect(data.problems).toEqual([]);
    // 15 terminated, plus the odd 2016 host of another account's instance, which EC2 here does not know
    expect(data.retired).toBe(16);
    expect(data.retiredForeign).toBe(1);
    expect(data.calls.ec2).toEqual({ DescribeInstances: 301 });
    expect(data.calls.mackerel).toEqual({ 'GET /api/v0/hosts': 1, 'POST /api/v0/hosts/:id/retire': 16 });
  });

  it('event: each terminated or stopped event performs its one action, and its calls are counted per event', async () => {
    console.log(`seed ${SEED}`);
    const data = await eventBench({ size: 120, events: 6, seed: SEED, latencyMs: 0 });

    expect(data.problems).toEqual([]);
    const [terminated, stopped] = data.kinds;
    expect(terminated?.events).toBe(3);
    expect(stopped?.events).toBe(3);
    expect(terminated?.mackerel['POST /api/v0/hosts/bulk-retire']).toBe(1);
    expect(stopped?.mackerel['POST /api/v0/hosts/bulk-update-statuses']).toBe(1);
    expect(stopped?.calls['Mackerel host look-ups']).toEqual({ min: 3, max: 3 });
    expect(stopped?.calls['DynamoDB requests']?.min).toBeGreaterThan(0);
  });
});

describe('benchmark sections in a reconciler process of their own', () => {
  it('event: reports the calls and Mackerel bytes of each event and the handler process\'s peak memory', async () => {
    console.log(`seed ${SEED}`);
    const data = await eventBench({ size: 150, events: 4, seed: SEED, latencyMs: 0 });

    expect(data.problems).toEqual([]);
    expect(data.failed).toBe(0);
    expect(data.day0?.ok).toBe(true);
    // every host carries 4–6 KB of meta, and today's event path lists them all
    expect(data.mackerelBytesPerEvent).toBeGreaterThan(0);
    const [terminated] = data.kinds;
    const families = Object.values(terminated?.calls ?? {}).reduce((a, f) => a + f.min, 0);
    expect(terminated?.callsPerEvent?.min).toBe(families);
    expect(data.peakRssMB).toBeGreaterThan(20);
    expect(data.peakRssSource).toBe('VmHWM');
  });

  it('sweep-scale: one sweep per fresh process, its bytes, calls and peak memory; the fleet\'s work done', async () => {
    console.log(`seed ${SEED}`);
    const { data, problems, fleet } = await sweepScaleSize({ size: 300, seed: SEED, latencyMs: 0 });

    expect(problems).toEqual([]);
    expect(data).toMatchObject({ ok: true, instances: 300, hosts: fleet.hosts.length + fleet.odd.length });
    expect(data.day0.ok).toBe(true);
    expect(data.mackerelBytes).toBeGreaterThan(fleet.hosts.length * 4096);
    expect(data.calls.mackerel).toBeGreaterThanOrEqual(1);
    expect(data.calls.dynamodb).toBeGreaterThan(0);
    expect(data.peakRssMB).toBeGreaterThan(20);
  });

  it('sweep-scale: a sweep that fails is a figure with its error and a PROBLEM, not a crash', async () => {
    console.log(`seed ${SEED}`);
    const { data, problems } = await sweepScaleSize({
      size: 120,
      seed: SEED,
      latencyMs: 0,
      onSeeded: (sb) => sb.mackerel.inject({ method: 'GET', pathPrefix: '/api/v0/hosts', status: 500 }),
    });

    expect(data.ok).toBe(false);
    expect(data.error).toMatch(/GET \/api\/v0\/hosts/);
    expect(data.day0.ok).toBe(false);
    expect(problems).toEqual([
      expect.stringMatching(/^120 instances: the day-0 sweep failed: .*Internal Server Error/),
      expect.stringMatching(/^120 instances: the sweep failed: /),
    ]);
  });

  it('a reconciler process that does not answer in time is killed, and its invocation answers an error', async () => {
    const h = await startHarness({ latencyMs: 3000, seed: SEED });
    try {
      const proc = await h.reconciler(300);
      const { inv } = await h.sweepIn(proc);
      expect(inv).toMatchObject({ ok: false, error: expect.stringMatching(/no answer within/) });
      await proc.stop();
      expect(proc.alive).toBe(false);
    } finally {
      await h.stop();
    }
  });
});
