/**
 * The state store: one DynamoDB table, key schema fixed by DESIGN.md (pk, sk; TTL on expiresAt).
 *
 *   pk INSTANCE#<id>  sk STATE   everything about one instance, in one item:
 *                                the record (ownership, state, version, links) and, as attributes,
 *                                  R#<hostId>            status to restore after a start
 *                                  C#<name>#<hostId>     last check status reported
 *                                  A#<action key>        the action ledger: claimed (with a lease) → done
 *                                  E#<eventId>           an event already handled (de-duplication)
 *   pk LEASE#<name>   sk LEASE   the sweep lease
 *
 * One item per instance is what keeps a state-change event at three requests: one read, one conditional
 * write that records the sighting, the restore memos and the claims together (so a memo always precedes
 * its poweroff, and concurrent runs agree on one version per transition), and one write after acting.
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
import { rebase, type Sighting } from '../reconcile/record.js';
import type { CheckMemo, CheckName, InstanceRecord, RestoreMemo, StoredState } from '../reconcile/types.js';
import { mapLimit } from '../util/concurrency.js';

const DAY = 86_400;
const RECORD_TTL_AFTER_END_S = 30 * DAY;
/** handled event ids are kept this long; EventBridge redelivers within a day */
const EVENT_KEEP_S = 2 * DAY;
/** done ledger entries are kept this long; a run lives at most 15 minutes, so this is ample */
const LEDGER_KEEP_S = 7 * DAY;
const CONCURRENCY = 16;
const CONFLICT_ATTEMPTS = 5;

const RECORD_FIELDS = [
  'instanceId',
  'region',
  'accountId',
  'state',
  'stateTime',
  'version',
  'firstSeenAt',
  'lastSeenAt',
  'ignored',
  'privateDnsName',
  'privateIpAddress',
  'launchTime',
  'linkedHostIds',
  'goneAt',
  'describedAt',
] as const;

export type { Sighting };

export interface InstanceState extends StoredState {
  /** `<instanceId>#<eventId>` of events already handled */
  events: Set<string>;
  /** per instance, attributes that have outlived their use (old events, old done actions) */
  stale: Map<string, string[]>;
}

/** What one run writes for one instance before it acts. */
export interface InstanceCommit {
  instanceId: string;
  /** the record as read (undefined: none stored yet); the write is conditional on its version */
  base?: InstanceRecord;
  /** the record to store, when the sighting changed it */
  next?: InstanceRecord;
  /** ledger keys to claim */
  claims: string[];
  /** written with the claim of their poweroff, so that the memo exists before the poweroff it undoes */
  restores: { key: string; memo: RestoreMemo }[];
  /** attributes to drop (from InstanceState.stale) */
  prune?: string[];
}

export interface BeginResult {
  claimed: string[];
  /** keys another run holds: done, or claimed and still leased */
  held: Record<string, 'done' | 'in-progress'>;
  /** the record now stored */
  record?: InstanceRecord;
}

/** What one run writes for one instance after it acts. */
export interface InstanceOutcome {
  instanceId: string;
  done: string[];
  /** claims given back after a failure, so that the next run retries */
  released: string[];
  checks: CheckMemo[];
  forgetRestores: string[];
  forgetChecks: { name: CheckName; hostId: string }[];
  /** events now handled */
  events: string[];
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException ||
  (e as { name?: string })?.name === 'ConditionalCheckFailedException';

const pkOf = (instanceId: string) => `INSTANCE#${instanceId}`;
const restoreAttr = (hostId: string) => `R#${hostId}`;
const checkAttr = (name: string, hostId: string) => `C#${name}#${hostId}`;
const actionAttr = (key: string) => `A#${key}`;
const eventAttr = (eventId: string) => `E#${eventId}`;

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
    goneAt: item.goneAt === undefined ? undefined : Number(item.goneAt),
    // Items written before describedAt existed: only a DescribeInstances sighting stored a launch time.
    describedAt:
      item.describedAt !== undefined
        ? Number(item.describedAt)
        : item.launchTime !== undefined
          ? Number(item.firstSeenAt ?? 0)
          : undefined,
  };
}

/** Builds one UpdateExpression from named parts, with placeholders for every name and value. */
class Update {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private n = 0;

  name(attr: string): string {
    const p = `#n${this.n++}`;
    this.names[p] = attr;
    return p;
  }
  value(v: unknown): string {
    const p = `:v${this.n++}`;
    this.values[p] = v;
    return p;
  }
  set(attr: string, v: unknown): this {
    this.sets.push(`${this.name(attr)} = ${this.value(v)}`);
    return this;
  }
  setRaw(expr: string): this {
    this.sets.push(expr);
    return this;
  }
  remove(attr: string): this {
    this.removes.push(this.name(attr));
    return this;
  }
  condition(expr: string): this {
    this.conditions.push(expr);
    return this;
  }
  get empty(): boolean {
    return this.sets.length === 0 && this.removes.length === 0;
  }
  command(table: string, instanceId: string): UpdateCommand {
    const expr = [
      this.sets.length ? `SET ${this.sets.join(', ')}` : '',
      this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return new UpdateCommand({
      TableName: table,
      Key: { pk: pkOf(instanceId), sk: 'STATE' },
      UpdateExpression: expr,
      ConditionExpression: this.conditions.length ? this.conditions.join(' AND ') : undefined,
      ExpressionAttributeNames: this.names,
      ExpressionAttributeValues: Object.keys(this.values).length ? this.values : undefined,
    });
  }
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

  private collect(items: Record<string, unknown>[], into: InstanceState, nowS: number): void {
    for (const item of items) {
      if (item.sk !== 'STATE' || typeof item.state !== 'string') continue;
      const record = toRecord(item);
      const id = record.instanceId;
      into.records.push(record);
      const stale: string[] = [];
      for (const [attr, value] of Object.entries(item)) {
        const v = value as Record<string, unknown>;
        if (attr.startsWith('R#')) {
          into.restores.push({
            instanceId: id,
            hostId: attr.slice(2),
            status: v.status as RestoreMemo['status'],
            setAt: Number(v.setAt),
          });
        } else if (attr.startsWith('C#')) {
          const [name, hostId] = [attr.slice(2, attr.lastIndexOf('#')), attr.slice(attr.lastIndexOf('#') + 1)];
          into.checks.push({
            instanceId: id,
            hostId,
            name: name as CheckName,
            status: v.status as CheckMemo['status'],
            changedAt: Number(v.changedAt),
          });
        } else if (attr.startsWith('E#')) {
          if (Number(value) < nowS - EVENT_KEEP_S) stale.push(attr);
          else into.events.add(`${id}#${attr.slice(2)}`);
        } else if (attr.startsWith('A#')) {
          if (v.status === 'done' && Number(v.doneAt) / 1000 < nowS - LEDGER_KEEP_S) stale.push(attr);
        }
      }
      if (stale.length > 0) into.stale.set(id, stale);
    }
  }

  private empty(): InstanceState {
    return { records: [], restores: [], checks: [], events: new Set(), stale: new Map() };
  }

  /** Everything known of every instance (the sweep). */
  async loadAll(nowS = Math.floor(Date.now() / 1000)): Promise<InstanceState> {
    const out = this.empty();
    const segments = 4;
    await Promise.all(
      Array.from({ length: segments }, async (_, segment) => {
        const pages = paginateScan(
          { client: this.doc },
          {
            TableName: this.tableName,
            Segment: segment,
            TotalSegments: segments,
            FilterExpression: 'begins_with(pk, :p)',
            ExpressionAttributeValues: { ':p': 'INSTANCE#' },
          },
        );
        for await (const page of pages) {
          this.stats.requests++;
          this.collect((page.Items ?? []) as Record<string, unknown>[], out, nowS);
        }
      }),
    );
    return out;
  }

  /** Everything known of the given instances: one Query each. */
  async loadInstances(
    instanceIds: readonly string[],
    nowS = Math.floor(Date.now() / 1000),
  ): Promise<InstanceState> {
    const out = this.empty();
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
        this.collect((page.Items ?? []) as Record<string, unknown>[], out, nowS);
      }
    });
    return out;
  }

  private async getItem(instanceId: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.send<{ Item?: Record<string, unknown> }>(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: pkOf(instanceId), sk: 'STATE' },
        ConsistentRead: true,
      }),
    );
    return res.Item;
  }

  /**
   * Before acting: records the sighting, writes the restore memos and claims the actions, in one
   * conditional write. A claim is free when nobody holds it or an earlier claim's lease ran out (its run died
   * between claiming and finishing: the action is retried, never lost). When another run wrote meanwhile,
   * the item is read again and the change re-applied on top of it; keys it holds are reported, not claimed.
   */
  async begin(c: InstanceCommit, runId: string, nowMs: number, leaseMs: number): Promise<BeginResult> {
    let base = c.base;
    let next = c.next;
    let claims = [...new Set(c.claims)];
    const held: BeginResult['held'] = {};
    for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
      const u = new Update();
      if (next) {
        for (const f of RECORD_FIELDS) if (next[f] !== undefined) u.set(f, next[f]);
      } else u.set('instanceId', c.instanceId);
      if (next?.state === 'terminated' || (next?.goneAt !== undefined && base?.goneAt === undefined)) {
        const end = next.goneAt ?? Math.floor(nowMs / 1000);
        u.setRaw(`${u.name('expiresAt')} = if_not_exists(${u.name('expiresAt')}, ${u.value(end + RECORD_TTL_AFTER_END_S)})`);
      }
      const claimedKeys = new Set(claims);
      const restores = new Map(
        c.restores.filter((r) => claimedKeys.has(r.key)).map(({ memo }) => [restoreAttr(memo.hostId), memo]),
      );
      for (const [attr, memo] of restores) u.set(attr, { status: memo.status, setAt: memo.setAt });
      for (const key of claims) {
        const a = u.name(actionAttr(key));
        u.setRaw(
          `${a} = ${u.value({ status: 'claimed', runId, claimedAt: nowMs, leaseUntil: nowMs + leaseMs })}`,
        );
        u.condition(
          `(attribute_not_exists(${a}) OR (${a}.${u.name('status')} = ${u.value('claimed')} AND ${a}.${u.name('leaseUntil')} < ${u.value(nowMs)}))`,
        );
      }
      for (const attr of c.prune ?? []) if (!claimedKeys.has(attr.slice(2))) u.remove(attr);
      u.condition(
        base
          ? `${u.name('version')} = ${u.value(base.version)}`
          : `attribute_not_exists(${u.name("version")})`,
      );
      if (!next && claims.length === 0 && !(c.prune?.length)) return { claimed: [], held, record: base };
      try {
        await this.send(u.command(this.tableName, c.instanceId));
        return { claimed: claims, held, record: next ?? base };
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
      const item = await this.getItem(c.instanceId);
      const current = item && typeof item.state === 'string' ? toRecord(item) : undefined;
      for (const key of claims) {
        const entry = item?.[actionAttr(key)] as Record<string, unknown> | undefined;
        if (entry?.status === 'done') held[key] = 'done';
        else if (entry?.status === 'claimed' && Number(entry.leaseUntil) >= nowMs) held[key] = 'in-progress';
      }
      claims = claims.filter((k) => !(k in held));
      next = next ? rebase(next, base, current) : undefined;
      base = current;
    }
    throw new Error(`state of ${c.instanceId} kept changing under concurrent writers`);
  }

  /** After acting: marks actions done, gives failed claims back, and records memos and handled events. */
  async finish(o: InstanceOutcome, runId: string, nowMs: number): Promise<void> {
    const nowS = Math.floor(nowMs / 1000);
    const u = new Update();
    // Each attribute once: DynamoDB rejects an expression that names one path twice (a restore done and its
    // memo forgotten by another action of the same plan both remove R#<host>).
    const sets = new Map<string, unknown>();
    for (const key of o.done) sets.set(actionAttr(key), { status: 'done', runId, doneAt: nowMs });
    for (const m of o.checks) sets.set(checkAttr(m.name, m.hostId), { status: m.status, changedAt: m.changedAt });
    for (const id of o.events) sets.set(eventAttr(id), nowS);
    const removes = new Set([
      ...o.forgetRestores.map(restoreAttr),
      ...o.forgetChecks.map((c) => checkAttr(c.name, c.hostId)),
    ]);
    for (const [attr, value] of sets) if (!removes.has(attr)) u.set(attr, value);
    for (const attr of removes) u.remove(attr);
    if (!u.empty) {
      u.condition(`attribute_exists(${u.name('pk')})`);
      try {
        await this.send(u.command(this.tableName, o.instanceId));
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
    }
    // A claim is given back only by the run that holds it.
    await mapLimit(o.released, CONCURRENCY, async (key) => {
      const r = new Update();
      const a = r.name(actionAttr(key));
      r.remove(actionAttr(key)).condition(`${a}.${r.name('runId')} = ${r.value(runId)}`);
      r.condition(`${a}.${r.name('status')} = ${r.value('claimed')}`);
      try {
        await this.send(r.command(this.tableName, o.instanceId));
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
    });
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
