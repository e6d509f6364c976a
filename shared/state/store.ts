/**
 * The state store: one DynamoDB table, key schema fixed by DESIGN.md (pk, sk; TTL on expiresAt).
 *
 *   pk INSTANCE#<id>  sk STATE                   instance record (ownership, state, version, links)
 *   pk INSTANCE#<id>  sk RESTORE#<hostId>        status to restore after a start
 *   pk INSTANCE#<id>  sk CHECK#<name>#<hostId>   last check status reported
 *   pk INSTANCE#<id>  sk EVENT#<eventId>         an event already handled (de-duplication)
 *   pk ACTION#<key>   sk LEDGER                  one side effect: claimed → done
 *   pk LEASE#<name>   sk LEASE                   the sweep lease
 *
 * Everything about an instance shares its partition, so the event path reads it with one Query.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CheckMemo, CheckName, InstanceRecord, RestoreMemo, StoredState } from '../reconcile/types.js';
import { mapLimit } from '../util/concurrency.js';

const DAY = 86_400;
const RECORD_TTL_AFTER_END_S = 30 * DAY;
const EVENT_TTL_S = 2 * DAY;
const LEDGER_TTL_S = 90 * DAY;
const CONCURRENCY = 16;

export type ClaimResult = { claimed: true } | { claimed: false; by: 'done' | 'in-progress' };

export interface Sighting {
  instanceId: string;
  region: string;
  accountId: string;
  state: InstanceRecord['state'];
  /** epoch seconds the state is known as of */
  stateTime: number;
  ignored: boolean;
  privateDnsName?: string;
  privateIpAddress?: string;
  launchTime?: number;
}

export interface InstanceState extends StoredState {
  /** event ids already handled, per instance */
  events: Set<string>;
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException ||
  (e as { name?: string })?.name === 'ConditionalCheckFailedException';

const pkOf = (instanceId: string) => `INSTANCE#${instanceId}`;

function toRecord(item: Record<string, unknown>): InstanceRecord {
  return {
    instanceId: String(item.instanceId),
    region: String(item.region),
    accountId: String(item.accountId ?? ''),
    state: item.state as InstanceRecord['state'],
    stateTime: Number(item.stateTime ?? 0),
    version: Number(item.version ?? 0),
    firstSeenAt: Number(item.firstSeenAt ?? 0),
    lastSeenAt: Number(item.lastSeenAt ?? 0),
    ignored: Boolean(item.ignored),
    privateDnsName: item.privateDnsName as string | undefined,
    privateIpAddress: item.privateIpAddress as string | undefined,
    launchTime: item.launchTime === undefined ? undefined : Number(item.launchTime),
    linkedHostIds: Array.isArray(item.linkedHostIds) ? (item.linkedHostIds as string[]) : [],
  };
}

/** Up, down or ended: what the planner acts on. stopping→stopped is one stop, pending→running one start. */
const phaseOf = (s: InstanceRecord['state']) =>
  s === 'pending' || s === 'running' ? 'up' : s === 'stopping' || s === 'stopped' ? 'down' : 'ended';

/**
 * The record a sighting leads to, or undefined when nothing changed (a steady fleet costs no write).
 * A state change that starts a new phase bumps the version (each stop/start cycle keys its actions once);
 * a sighting older than the state already known changes no state.
 */
export function nextRecord(
  s: Sighting,
  existing: InstanceRecord | undefined,
  nowS: number,
): InstanceRecord | undefined {
  if (!existing) return { ...s, version: 1, firstSeenAt: nowS, lastSeenAt: nowS, linkedHostIds: [] };
  const changedState = existing.state !== s.state && s.stateTime >= existing.stateTime;
  const changedFacts =
    existing.ignored !== s.ignored ||
    (s.privateDnsName !== undefined && existing.privateDnsName !== s.privateDnsName) ||
    (s.privateIpAddress !== undefined && existing.privateIpAddress !== s.privateIpAddress) ||
    (s.launchTime !== undefined && existing.launchTime !== s.launchTime);
  if (!changedState && !changedFacts) return undefined;
  return {
    ...existing,
    state: changedState ? s.state : existing.state,
    stateTime: changedState ? s.stateTime : existing.stateTime,
    version:
      changedState && phaseOf(s.state) !== phaseOf(existing.state) ? existing.version + 1 : existing.version,
    ignored: s.ignored,
    privateDnsName: s.privateDnsName ?? existing.privateDnsName,
    privateIpAddress: s.privateIpAddress ?? existing.privateIpAddress,
    launchTime: s.launchTime ?? existing.launchTime,
    lastSeenAt: nowS,
  };
}

export class StateStore {
  readonly stats = { requests: 0 };
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    readonly tableName: string,
    client?: DynamoDBClient,
  ) {
    this.doc = DynamoDBDocumentClient.from(client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  private async send<T>(cmd: GetCommand | PutCommand | UpdateCommand | DeleteCommand): Promise<T> {
    this.stats.requests++;
    return (await this.doc.send(cmd as never)) as T;
  }

  private collect(items: Record<string, unknown>[], into: InstanceState): void {
    for (const item of items) {
      const sk = String(item.sk);
      if (sk === 'STATE') into.records.push(toRecord(item));
      else if (sk.startsWith('RESTORE#')) into.restores.push(item as unknown as RestoreMemo);
      else if (sk.startsWith('CHECK#')) into.checks.push(item as unknown as CheckMemo);
      else if (sk.startsWith('EVENT#')) into.events.add(`${item.instanceId}#${sk.slice('EVENT#'.length)}`);
    }
  }

  /** Everything known of every instance (the sweep). */
  async loadAll(): Promise<InstanceState> {
    const out: InstanceState = { records: [], restores: [], checks: [], events: new Set() };
    const segments = 4;
    await Promise.all(
      Array.from({ length: segments }, async (_, segment) => {
        const pages = paginateScan(
          { client: this.doc },
          {
            TableName: this.tableName,
            Segment: segment,
            TotalSegments: segments,
            FilterExpression: 'begins_with(pk, :p) AND NOT begins_with(sk, :e)',
            ExpressionAttributeValues: { ':p': 'INSTANCE#', ':e': 'EVENT#' },
          },
        );
        for await (const page of pages) {
          this.stats.requests++;
          this.collect((page.Items ?? []) as Record<string, unknown>[], out);
        }
      }),
    );
    return out;
  }

  /** Everything known of the given instances: one Query each. */
  async loadInstances(instanceIds: readonly string[]): Promise<InstanceState> {
    const out: InstanceState = { records: [], restores: [], checks: [], events: new Set() };
    await mapLimit([...new Set(instanceIds)], CONCURRENCY, async (id) => {
      const pages = paginateQuery(
        { client: this.doc },
        {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pkOf(id) },
        },
      );
      for await (const page of pages) {
        this.stats.requests++;
        this.collect((page.Items ?? []) as Record<string, unknown>[], out);
      }
    });
    return out;
  }

  async getRecord(instanceId: string): Promise<InstanceRecord | undefined> {
    const res = await this.send<{ Item?: Record<string, unknown> }>(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: pkOf(instanceId), sk: 'STATE' },
        ConsistentRead: true,
      }),
    );
    return res.Item ? toRecord(res.Item) : undefined;
  }

  /**
   * Remembers that this account saw an instance. A state change bumps `version` under a condition on the
   * version read, so concurrent runs agree on one version per transition. Writes nothing when nothing changed.
   */
  async recordSighting(
    s: Sighting,
    existing: InstanceRecord | undefined,
    nowS: number,
  ): Promise<InstanceRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.trySighting(s, existing, nowS);
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        existing = await this.getRecord(s.instanceId);
      }
    }
    throw new Error(`state of ${s.instanceId} kept changing under concurrent writers`);
  }

  private async trySighting(
    s: Sighting,
    existing: InstanceRecord | undefined,
    nowS: number,
  ): Promise<InstanceRecord> {
    const next = nextRecord(s, existing, nowS);
    if (!next) return existing as InstanceRecord;
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: pkOf(s.instanceId),
          sk: 'STATE',
          ...next,
          expiresAt: next.state === 'terminated' ? nowS + RECORD_TTL_AFTER_END_S : undefined,
        },
        ...(existing
          ? {
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':v': existing.version },
            }
          : { ConditionExpression: 'attribute_not_exists(pk)' }),
      }),
    );
    return next;
  }

  /** Marks an instance that DescribeInstances no longer returns; its record then expires. */
  async markGone(instanceId: string, nowS: number): Promise<void> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pkOf(instanceId), sk: 'STATE' },
          UpdateExpression:
            'SET goneAt = if_not_exists(goneAt, :now), expiresAt = if_not_exists(expiresAt, :exp)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': nowS, ':exp': nowS + RECORD_TTL_AFTER_END_S },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async saveLinks(instanceId: string, hostIds: readonly string[]): Promise<void> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pkOf(instanceId), sk: 'STATE' },
          UpdateExpression: 'SET linkedHostIds = :h',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':h': [...hostIds] },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async markEventHandled(instanceId: string, eventId: string, nowS: number): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: pkOf(instanceId),
          sk: `EVENT#${eventId}`,
          instanceId,
          handledAt: nowS,
          expiresAt: nowS + EVENT_TTL_S,
        },
      }),
    );
  }

  // --- memos ---
  async putRestore(m: RestoreMemo): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: pkOf(m.instanceId), sk: `RESTORE#${m.hostId}`, ...m },
      }),
    );
  }

  async deleteRestore(instanceId: string, hostId: string): Promise<void> {
    await this.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: pkOf(instanceId), sk: `RESTORE#${hostId}` },
      }),
    );
  }

  async putCheck(m: CheckMemo): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: pkOf(m.instanceId), sk: `CHECK#${m.name}#${m.hostId}`, ...m },
      }),
    );
  }

  async deleteCheck(instanceId: string, name: CheckName, hostId: string): Promise<void> {
    await this.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: pkOf(instanceId), sk: `CHECK#${name}#${hostId}` },
      }),
    );
  }

  // --- the action ledger ---
  /**
   * Claims one side effect. Succeeds when nobody has, or when an earlier claim's lease ran out
   * (its run died between claiming and finishing): that action is then retried, never lost.
   */
  async claim(key: string, runId: string, nowMs: number, leaseMs: number): Promise<ClaimResult> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `ACTION#${key}`,
            sk: 'LEDGER',
            status: 'claimed',
            runId,
            claimedAt: nowMs,
            leaseUntil: nowMs + leaseMs,
            expiresAt: Math.floor(nowMs / 1000) + LEDGER_TTL_S,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (#s = :claimed AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':claimed': 'claimed', ':now': nowMs },
        }),
      );
      return { claimed: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const item = await this.send<{ Item?: Record<string, unknown> }>(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: `ACTION#${key}`, sk: 'LEDGER' },
          ConsistentRead: true,
        }),
      );
      return { claimed: false, by: item.Item?.status === 'done' ? 'done' : 'in-progress' };
    }
  }

  async complete(
    key: string,
    runId: string,
    nowMs: number,
    outcome: Record<string, unknown> = {},
  ): Promise<void> {
    await this.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `ACTION#${key}`, sk: 'LEDGER' },
        UpdateExpression: 'SET #s = :done, doneAt = :now, doneBy = :run, outcome = :o',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':done': 'done', ':now': nowMs, ':run': runId, ':o': outcome },
      }),
    );
  }

  /** Gives a claim back after a failure, so the next run performs the action. */
  async release(key: string, runId: string): Promise<void> {
    try {
      await this.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `ACTION#${key}`, sk: 'LEDGER' },
          ConditionExpression: 'runId = :run AND #s = :claimed',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':run': runId, ':claimed': 'claimed' },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  // --- the sweep lease ---
  async acquireLease(name: string, holder: string, nowMs: number, ttlMs: number): Promise<boolean> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `LEASE#${name}`,
            sk: 'LEASE',
            holder,
            acquiredAt: nowMs,
            leaseUntil: nowMs + ttlMs,
            expiresAt: Math.floor((nowMs + ttlMs) / 1000) + DAY,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
          ExpressionAttributeValues: { ':now': nowMs },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    try {
      await this.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `LEASE#${name}`, sk: 'LEASE' },
          ConditionExpression: 'holder = :h',
          ExpressionAttributeValues: { ':h': holder },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }
}
