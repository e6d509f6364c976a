import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEventBridge } from '../../sandbox/eventbridge-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import {
  DETAIL_TYPES,
  type Finding,
  FindingsPublisher,
  FindingTooLargeError,
} from '../../shared/findings/publish.js';

const SEED = Number(process.env.TEST_SEED ?? 424_242);
console.log(`findings publisher tests: seed ${SEED}`);

const BUS = 'reconciler-bus';
let fake: FakeEventBridge;
let client: EventBridgeClient;
let slept: number[];

function publisher(maxAttempts?: number): FindingsPublisher {
  return new FindingsPublisher({
    eventBusName: BUS,
    client,
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: mulberry32(SEED),
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

function findings(n: number): Finding[] {
  return Array.from({ length: n }, (_, i) => ({
    detailType: DETAIL_TYPES[i % DETAIL_TYPES.length] as Finding['detailType'],
    detail: { n: i, instanceId: `i-${i}`, hostIds: [`h${i}`] },
    resources: [`arn:aws:ec2:ap-northeast-1:123456789012:instance/i-${i}`],
  }));
}

beforeAll(async () => {
  fake = new FakeEventBridge({ rng: mulberry32(SEED) });
  await fake.start();
  client = new EventBridgeClient({
    region: 'ap-northeast-1',
    endpoint: fake.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(async () => {
  client.destroy();
  await fake.stop();
});
beforeEach(() => {
  fake.events.length = 0;
  fake.calls.length = 0;
  fake.failEntries(null);
  slept = [];
});

describe('FindingsPublisher', () => {
  it('sends 23 findings in 3 calls of at most 10, as the documented events', async () => {
    const input = findings(23);
    const p = publisher();
    expect(await p.publish(input)).toEqual({ published: 23, failed: [], errors: [] });
    expect(fake.calls.map((c) => [c.entries, c.status])).toEqual([
      [10, 200],
      [10, 200],
      [3, 200],
    ]);
    expect(p.stats).toEqual({ putEventsCalls: 3, entriesFailed: 0 });
    expect(fake.events).toHaveLength(23);
    expect(fake.events[7]).toMatchObject({
      source: 'mackerel-reconciler',
      detailType: input[7]?.detailType,
      detail: input[7]?.detail,
      eventBusName: BUS,
      resources: input[7]?.resources,
    });
    expect(slept).toEqual([]);
  });

  it('re-sends the entries a response marks failed, then publishes them', async () => {
    fake.failEntries({ times: 3 });
    const p = publisher();
    const res = await p.publish(findings(12));
    expect(res).toEqual({ published: 12, failed: [], errors: ['InternalFailure: Internal service error.'] });
    // 10 + 2, then the 3 failed ones again in one call
    expect(fake.calls.map((c) => c.entries)).toEqual([10, 2, 3]);
    expect(fake.events.map((e) => (e.detail as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => i),
    );
    expect(slept).toHaveLength(1);
    expect(p.stats).toEqual({ putEventsCalls: 3, entriesFailed: 0 });
  });

  it('returns what still fails after maxAttempts instead of throwing', async () => {
    fake.failEntries({ probability: 1 });
    const input = findings(11);
    const p = publisher(3);
    const res = await p.publish(input);
    expect(res.published).toBe(0);
    expect(res.failed).toEqual(input);
    expect(fake.calls.map((c) => c.entries)).toEqual([10, 1, 10, 1, 10, 1]);
    expect(slept).toHaveLength(2);
    expect(p.stats).toEqual({ putEventsCalls: 6, entriesFailed: 11 });
  });

  it('never sends more than 10 entries in one call', async () => {
    fake.failEntries({ probability: 0.5 });
    const res = await publisher(10).publish(findings(57));
    expect(fake.calls.length).toBeGreaterThan(6);
    expect(fake.calls.every((c) => c.entries >= 1 && c.entries <= 10 && c.status === 200)).toBe(true);
    expect(res.published + res.failed.length).toBe(57);
    expect(fake.events).toHaveLength(res.published);
  });

  it('rejects an entry over 256 KB before sending anything', async () => {
    const big: Finding = { detailType: 'Reconcile Failed', detail: { log: 'x'.repeat(300 * 1024) } };
    const err = await publisher()
      .publish([...findings(2), big])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FindingTooLargeError);
    expect((err as Error).message).toMatch(/^finding "Reconcile Failed" is \d+ bytes, over the 262144-byte/);
    expect(fake.calls).toHaveLength(0);
  });

  it('keeps each call under 256 KB in total', async () => {
    const large = Array.from(
      { length: 4 },
      (_, i): Finding => ({ detailType: 'Reconcile Failed', detail: { i, log: 'y'.repeat(100 * 1024) } }),
    );
    expect((await publisher().publish(large)).published).toBe(4);
    expect(fake.calls.map((c) => c.entries)).toEqual([2, 2]);
  });

  it('refuses an unknown detail type, and sends nothing for nothing', async () => {
    const p = publisher();
    await expect(
      p.publish([{ detailType: 'Host Exploded' as Finding['detailType'], detail: {} }]),
    ).rejects.toThrow(/detailType "Host Exploded" is not one of/);
    expect(await p.publish([])).toEqual({ published: 0, failed: [], errors: [] });
    expect(fake.calls).toHaveLength(0);
  });
});
