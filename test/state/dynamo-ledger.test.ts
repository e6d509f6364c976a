/**
 * The DynamoDB ledger against dynalite: the contract, then what only DynamoDB shows — one request per write,
 * and the item layout deployed tables hold (it must not change).
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStateTable } from '../../sandbox/dynamodb.js';
import { DynamoLedger } from '../../shared/state/dynamo-ledger.js';
import { type LocalDynamo, localDynamo } from '../support/dynamo.js';
import { commit, LEASE, ledgerContract, NOW, NOW_S, outcome, record } from './ledger.contract.js';

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let table = 0;

beforeAll(async () => {
  dynamo = await localDynamo();
  client = dynamo.client;
});
afterAll(() => dynamo.stop());

async function freshLedger(): Promise<DynamoLedger> {
  const name = `ledger-${table++}`;
  await createStateTable(dynamo.endpoint, name);
  return new DynamoLedger(name, client);
}

ledgerContract('DynamoLedger', freshLedger);

describe('DynamoLedger: requests and item layout', () => {
  let ledger: DynamoLedger;
  beforeEach(async () => {
    ledger = await freshLedger();
  });
  const rawItem = async (instanceId = 'i-1') =>
    (
      await client.send(
        new GetItemCommand({
          TableName: ledger.tableName,
          Key: { pk: { S: `INSTANCE#${instanceId}` }, sk: { S: 'STATE' } },
        }),
      )
    ).Item ?? {};
  const attrs = async () => Object.keys(await rawItem()).sort();

  it('one request records a sighting, a restore memo and a claim, as attributes of one item', async () => {
    const before = ledger.stats.requests;
    await ledger.begin(
      commit({
        next: record({ state: 'stopped' }),
        claims: ['status#h1#poweroff#i-1@1'],
        restores: [
          { key: 'status#h1#poweroff#i-1@1', memo: { instanceId: 'i-1', hostId: 'h1', status: 'standby', setAt: NOW_S } },
        ],
      }),
      'run-a',
      NOW,
      LEASE,
    );
    expect(ledger.stats.requests - before).toBe(1);
    const item = await rawItem();
    expect(item['R#h1']).toEqual({ M: { status: { S: 'standby' }, setAt: { N: String(NOW_S) } } });
    expect(item['A#status#h1#poweroff#i-1@1']?.M).toMatchObject({
      status: { S: 'claimed' },
      runId: { S: 'run-a' },
      leaseUntil: { N: String(NOW + LEASE) },
    });
    expect(item).toMatchObject({ state: { S: 'stopped' }, version: { N: '1' }, instanceId: { S: 'i-1' } });
    expect(item.expiresAt).toBeUndefined();
  });

  it('finish: done entries, check memos and handled events are attributes; one request, plus one per release', async () => {
    await ledger.begin(commit({ next: record(), claims: ['k1', 'k2'] }), 'a', NOW, LEASE);
    const before = ledger.stats.requests;
    await ledger.finish(
      outcome({
        done: ['k1'],
        released: ['k2'],
        checks: [{ instanceId: 'i-1', hostId: 'h1', name: 'imds-disabled', status: 'WARNING', changedAt: NOW_S }],
        events: ['ev-1'],
      }),
      'a',
      NOW,
    );
    expect(ledger.stats.requests - before).toBe(2);
    const item = await rawItem();
    expect(Object.keys(item).filter((k) => /^[ACER]#/.test(k)).sort()).toEqual(['A#k1', 'C#imds-disabled#h1', 'E#ev-1']);
    expect(item['A#k1']?.M).toMatchObject({ status: { S: 'done' }, runId: { S: 'a' }, doneAt: { N: String(NOW) } });
    expect(item['E#ev-1']).toEqual({ N: String(NOW_S) });
  });

  it('a steady instance costs no request', async () => {
    await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
    const base = (await ledger.loadInstances(['i-1'], NOW_S)).records[0];
    const before = ledger.stats.requests;
    await ledger.begin(commit({ base }), 'b', NOW, LEASE);
    await ledger.finish(outcome(), 'b', NOW);
    expect(ledger.stats.requests).toBe(before);
  });

  it('an ended instance gets expiresAt once, 30 days after its end', async () => {
    await ledger.begin(commit({ next: record({ state: 'terminated', stateTime: NOW_S }) }), 'a', NOW, LEASE);
    const expires = (await rawItem()).expiresAt;
    expect(expires).toEqual({ N: String(NOW_S + 30 * 86_400) });
    const base = (await ledger.loadInstances(['i-1'], NOW_S)).records[0];
    await ledger.begin(commit({ base, next: { ...record({ state: 'terminated' }), goneAt: NOW_S + 99 } }), 'a', NOW + 99_000, LEASE);
    expect((await rawItem()).expiresAt).toEqual(expires);
  });

  it('old handled events and old done actions are dropped from the item by the next write', async () => {
    const old = NOW - 30 * 86_400_000;
    await ledger.begin(commit({ next: record(), claims: ['old'] }), 'a', old, LEASE);
    await ledger.finish(outcome({ done: ['old'], events: ['ev-old'] }), 'a', old);
    const loaded = await ledger.loadInstances(['i-1'], NOW_S);
    await ledger.begin(commit({ base: loaded.records[0], claims: ['new'], prune: loaded.stale.get('i-1') }), 'b', NOW, LEASE);
    expect((await attrs()).filter((k) => /^[AE]#/.test(k))).toEqual(['A#new']);
  });

  it('reads items written before describedAt existed: a stored launch time was a DescribeInstances sighting', async () => {
    const put = (id: string, extra: Record<string, { N: string }>) =>
      client.send(
        new PutItemCommand({
          TableName: ledger.tableName,
          Item: {
            pk: { S: `INSTANCE#${id}` },
            sk: { S: 'STATE' },
            instanceId: { S: id },
            region: { S: 'ap-northeast-1' },
            state: { S: 'running' },
            version: { N: '3' },
            firstSeenAt: { N: '1000' },
            ...extra,
          },
        }),
      );
    await put('i-old', { launchTime: { N: '900000' } });
    await put('i-event', {});
    const records = (await ledger.loadAll(NOW_S)).records.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    expect(records).toMatchObject([
      { instanceId: 'i-event', describedAt: undefined, linkedHostIds: [], accountId: '' },
      { instanceId: 'i-old', describedAt: 1000, version: 3 },
    ]);
  });

  it('the sweep lease is an item of its own', async () => {
    await ledger.acquireLease('sweep', 'a', NOW, LEASE);
    const lease = await client.send(
      new GetItemCommand({ TableName: ledger.tableName, Key: { pk: { S: 'LEASE#sweep' }, sk: { S: 'LEASE' } } }),
    );
    expect(lease.Item).toMatchObject({ holder: { S: 'a' }, leaseUntil: { N: String(NOW + LEASE) } });
    expect((await ledger.loadAll(NOW_S)).records).toEqual([]);
  });
});
