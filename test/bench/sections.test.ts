/**
 * The benchmark sections at a small scale, over real HTTP against the sandbox: the calls they count are the
 * calls the sandbox saw, and the work they measure is the work their fleet asks for. No timings asserted.
 */
import { describe, expect, it } from 'vitest';
import { eventBench } from '../../bench/sections/event.js';
import { naiveBench } from '../../bench/sections/naive.js';
import { sweepBench } from '../../bench/sections/sweep.js';

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
    expect(data.retired).toBe(15);
    expect(data.calls.ec2).toEqual({ DescribeInstances: 300 });
    expect(data.calls.mackerel).toEqual({ 'GET /api/v0/hosts': 1, 'POST /api/v0/hosts/:id/retire': 15 });
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
