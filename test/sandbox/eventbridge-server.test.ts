import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEventBridge } from '../../sandbox/eventbridge-server.js';
import { mulberry32 } from '../../sandbox/random.js';

const SEED = 99;
console.log(`eventbridge-server.test seed=${SEED}`);

let eventBridge: FakeEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  eventBridge = new FakeEventBridge({ rng: mulberry32(SEED) });
  await eventBridge.start();
  client = new EventBridgeClient({
    region: 'ap-northeast-1',
    endpoint: eventBridge.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});

afterAll(async () => {
  client.destroy();
  await eventBridge.stop();
});

beforeEach(() => {
  eventBridge.events.length = 0;
  eventBridge.calls.length = 0;
  eventBridge.failEntries(null);
});

const entry = (n: number, over: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: 'mackerel-reconciler',
  DetailType: 'Host Retired',
  Detail: JSON.stringify({ hostId: `h${n}`, instanceId: 'i-0123456789abcdef0' }),
  EventBusName: 'default',
  ...over,
});

describe('FakeEventBridge through the real EventBridgeClient', () => {
  it('records the entries of a PutEvents call with parsed detail', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry(1),
          entry(2, { Resources: ['arn:aws:ec2:ap-northeast-1:123456789012:instance/i-1'] }),
          entry(3),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toHaveLength(3);
    expect(out.Entries?.every((e) => typeof e.EventId === 'string')).toBe(true);
    expect(eventBridge.events).toHaveLength(3);
    expect(eventBridge.events[1]).toEqual({
      source: 'mackerel-reconciler',
      detailType: 'Host Retired',
      detail: { hostId: 'h2', instanceId: 'i-0123456789abcdef0' },
      eventBusName: 'default',
      resources: ['arn:aws:ec2:ap-northeast-1:123456789012:instance/i-1'],
      at: expect.any(Number),
    });
    expect(eventBridge.calls).toEqual([{ entries: 3, status: 200, at: expect.any(Number) }]);
  });

  it('rejects 11 entries with a ValidationException and records none', async () => {
    const err = await client
      .send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, (_, i) => entry(i)) }))
      .then(
        () => undefined,
        (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } },
      );
    expect(err?.name).toBe('ValidationException');
    expect(err?.$metadata.httpStatusCode).toBe(400);
    expect(eventBridge.events).toEqual([]);
    expect(eventBridge.calls).toEqual([{ entries: 11, status: 400, at: expect.any(Number) }]);
  });

  it('fails the next N entries with InternalFailure, unrecorded', async () => {
    eventBridge.failEntries({ times: 2 });
    const out = await client.send(new PutEventsCommand({ Entries: [entry(1), entry(2), entry(3)] }));
    expect(out.FailedEntryCount).toBe(2);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'InternalFailure',
      'InternalFailure',
      'ok',
    ]);
    expect(eventBridge.events.map((e) => (e.detail as { hostId: string }).hostId)).toEqual(['h3']);

    eventBridge.failEntries({ probability: 1 });
    const all = await client.send(new PutEventsCommand({ Entries: [entry(4)] }));
    expect(all.FailedEntryCount).toBe(1);
    expect(eventBridge.events).toHaveLength(1);
  });

  it('fails a malformed entry alone', async () => {
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry(1, { Detail: 'not json' }), entry(2)] }),
    );
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]?.ErrorCode).toBe('MalformedDetail');
    expect(eventBridge.events).toHaveLength(1);
  });
});
