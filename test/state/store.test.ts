/** The state store against dynalite: one item per instance, conditional claims, conflicts and housekeeping. */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStateTable, startDynamo } from '../../sandbox/dynamodb.js';
import type { InstanceRecord } from '../../shared/reconcile/types.js';
import { StateStore } from '../../shared/state/store.js';

let dynamo: { endpoint: string; stop(): Promise<void> };
let client: DynamoDBClient;
let store: StateStore;
let table = 0;

const NOW = 1_800_000_000_000;
const nowS = NOW / 1000;
const LEASE = 60_000;

beforeAll(async () => {
  dynamo = await startDynamo();
  client = new DynamoDBClient({
    region: 'ap-northeast-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(async () => {
  client.destroy();
  await dynamo.stop();
});
beforeEach(async () => {
  const name = `store-${table++}`;
  await createStateTable(dynamo.endpoint, name);
  store = new StateStore(name, client);
});

const record = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: 'i-1',
  region: 'ap-northeast-1',
  accountId: '123456789012',
  state: 'running',
  stateTime: nowS - 60,
  version: 1,
  firstSeenAt: nowS - 60,
  lastSeenAt: nowS - 60,
  ignored: false,
  linkedHostIds: ['h1'],
  ...over,
});

const rawItem = async (instanceId = 'i-1') =>
  (
    await client.send(
      new GetItemCommand({
        TableName: store.tableName,
        Key: { pk: { S: `INSTANCE#${instanceId}` }, sk: { S: 'STATE' } },
      }),
    )
  ).Item ?? {};

describe('StateStore', () => {
  it('records a sighting, a restore memo and a claim in one request, and reads them back', async () => {
    const before = store.stats.requests;
    const begun = await store.begin(
      {
        instanceId: 'i-1',
        next: record({ state: 'stopped' }),
        claims: ['status#h1#poweroff#i-1@1'],
        restores: [
          {
            key: 'status#h1#poweroff#i-1@1',
            memo: { instanceId: 'i-1', hostId: 'h1', status: 'standby', setAt: nowS },
          },
        ],
      },
      'run-a',
      NOW,
      LEASE,
    );
    expect(store.stats.requests - before).toBe(1);
    expect(begun.claimed).toEqual(['status#h1#poweroff#i-1@1']);

    const loaded = await store.loadInstances(['i-1'], nowS);
    expect(loaded.records).toMatchObject([{ instanceId: 'i-1', state: 'stopped', version: 1 }]);
    expect(loaded.restores).toEqual([{ instanceId: 'i-1', hostId: 'h1', status: 'standby', setAt: nowS }]);
  });

  it('a claim held by another run is reported, not taken; after its lease it is taken', async () => {
    await store.begin({ instanceId: 'i-1', next: record(), claims: ['retire#h1'], restores: [] }, 'a', NOW, LEASE);
    const base = (await store.loadInstances(['i-1'], nowS)).records[0];

    const during = await store.begin({ instanceId: 'i-1', base, claims: ['retire#h1'], restores: [] }, 'b', NOW + 1, LEASE);
    expect(during).toMatchObject({ claimed: [], held: { 'retire#h1': 'in-progress' } });

    const after = await store.begin(
      { instanceId: 'i-1', base, claims: ['retire#h1'], restores: [] },
      'c',
      NOW + LEASE + 1,
      LEASE,
    );
    expect(after.claimed).toEqual(['retire#h1']);
  });

  it('a done action stays done; a failed one is given back only by its own run', async () => {
    await store.begin({ instanceId: 'i-1', next: record(), claims: ['k1', 'k2'], restores: [] }, 'a', NOW, LEASE);
    await store.finish(
      { instanceId: 'i-1', done: ['k1'], released: [], checks: [], forgetRestores: [], forgetChecks: [], events: ['ev-1'] },
      'a',
      NOW,
    );
    // Another run cannot give back a claim it does not hold.
    await store.finish(
      { instanceId: 'i-1', done: [], released: ['k2'], checks: [], forgetRestores: [], forgetChecks: [], events: [] },
      'intruder',
      NOW,
    );
    expect(Object.keys(await rawItem())).toEqual(expect.arrayContaining(['A#k1', 'A#k2', 'E#ev-1']));
    await store.finish(
      { instanceId: 'i-1', done: [], released: ['k2'], checks: [], forgetRestores: [], forgetChecks: [], events: [] },
      'a',
      NOW,
    );
    expect(Object.keys(await rawItem())).not.toContain('A#k2');

    const base = (await store.loadInstances(['i-1'], nowS)).records[0];
    const again = await store.begin({ instanceId: 'i-1', base, claims: ['k1', 'k2'], restores: [] }, 'b', NOW + 2 * LEASE, LEASE);
    expect(again).toMatchObject({ claimed: ['k2'], held: { k1: 'done' } });
    expect((await store.loadInstances(['i-1'], nowS)).events).toEqual(new Set(['i-1#ev-1']));
  });

  it('a memo forgotten twice in one run (a restore done, and a forget-memo) is one removal, not an error', async () => {
    await store.begin(
      {
        instanceId: 'i-1',
        next: record({ state: 'stopped' }),
        claims: ['off'],
        restores: [
          { key: 'off', memo: { instanceId: 'i-1', hostId: 'h1', status: 'working', setAt: nowS } },
          { key: 'off', memo: { instanceId: 'i-1', hostId: 'h1', status: 'working', setAt: nowS } },
        ],
      },
      'a',
      NOW,
      LEASE,
    );
    expect(Object.keys(await rawItem())).toContain('R#h1');
    await store.finish(
      { instanceId: 'i-1', done: ['on'], released: [], checks: [], forgetRestores: ['h1', 'h1'], forgetChecks: [], events: [] },
      'a',
      NOW,
    );
    expect(Object.keys(await rawItem())).not.toContain('R#h1');
  });

  it('two runs recording the same transition agree on one version', async () => {
    await store.begin({ instanceId: 'i-1', next: record(), claims: [], restores: [] }, 'a', NOW, LEASE);
    const base = (await store.loadInstances(['i-1'], nowS)).records[0] as InstanceRecord;
    const stopped = { ...base, state: 'stopped' as const, stateTime: nowS, version: 2, lastSeenAt: nowS };

    const [a, b] = await Promise.all([
      store.begin({ instanceId: 'i-1', base, next: stopped, claims: ['poweroff@2'], restores: [] }, 'a', NOW, LEASE),
      store.begin({ instanceId: 'i-1', base, next: stopped, claims: ['poweroff@2'], restores: [] }, 'b', NOW, LEASE),
    ]);

    expect([...a.claimed, ...b.claimed]).toEqual(['poweroff@2']);
    expect((await store.loadInstances(['i-1'], nowS)).records).toMatchObject([{ state: 'stopped', version: 2 }]);
  });

  it('a stale writer does not roll the version back', async () => {
    await store.begin({ instanceId: 'i-1', next: record(), claims: [], restores: [] }, 'a', NOW, LEASE);
    const v1 = (await store.loadInstances(['i-1'], nowS)).records[0] as InstanceRecord;
    const stopped = { ...v1, state: 'stopped' as const, stateTime: nowS, version: 2 };
    await store.begin({ instanceId: 'i-1', base: v1, next: stopped, claims: [], restores: [] }, 'a', NOW, LEASE);
    const running = { ...stopped, state: 'running' as const, stateTime: nowS + 10, version: 3 };
    await store.begin({ instanceId: 'i-1', base: stopped, next: running, claims: [], restores: [] }, 'b', NOW, LEASE);

    // A run that read v1 long ago and saw the stop: its write is re-applied on top of v3 and changes nothing.
    await store.begin({ instanceId: 'i-1', base: v1, next: stopped, claims: [], restores: [] }, 'c', NOW, LEASE);

    expect((await store.loadInstances(['i-1'], nowS)).records).toMatchObject([{ state: 'running', version: 3 }]);
  });

  it('old handled events and old done actions are dropped by the next write', async () => {
    const old = NOW - 30 * 86_400_000;
    await store.begin({ instanceId: 'i-1', next: record(), claims: ['old'], restores: [] }, 'a', old, LEASE);
    await store.finish(
      { instanceId: 'i-1', done: ['old'], released: [], checks: [], forgetRestores: [], forgetChecks: [], events: ['ev-old'] },
      'a',
      old,
    );
    const loaded = await store.loadInstances(['i-1'], nowS);
    expect(loaded.events.size).toBe(0);
    expect(loaded.stale.get('i-1')?.sort()).toEqual(['A#old', 'E#ev-old']);

    await store.begin(
      { instanceId: 'i-1', base: loaded.records[0], claims: ['new'], restores: [], prune: loaded.stale.get('i-1') },
      'b',
      NOW,
      LEASE,
    );
    expect(Object.keys(await rawItem()).filter((k) => /^[AE]#/.test(k))).toEqual(['A#new']);
  });
});
