/**
 * The ledger in one DynamoDB table (key schema fixed: pk, sk; TTL on expiresAt). It only stores: the rules
 * (what a free claim is, conflicts, staleness) are `LedgerBase`'s, and the conditions here say the same in
 * DynamoDB's words.
 *
 *   pk INSTANCE#<id>  sk STATE   everything about one instance, in one item:
 *                                the record's fields (instanceId, region, state, version, …) and, as attributes,
 *                                  R#<hostId>            status to restore after a start {status, setAt}
 *                                  C#<name>#<hostId>     last check status reported {status, changedAt, ref?}
 *                                  A#<action key>        the action ledger {status: claimed|done, runId, …}
 *                                  E#<eventId>           an event already handled (epoch seconds)
 *                                  expiresAt             set once the instance ended
 *   pk TASK#<arn>     sk STATE   one ECS task's action ledger (A#…), no record: claims only, expiring
 *   pk LEASE#<name>   sk LEASE   the sweep lease
 *
 * One item per instance is what keeps a state-change event at three requests: one read, one conditional write
 * before acting and one write after.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  paginateScan,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type BeginWrite,
  type FinishWrite,
  type Lease,
  LedgerBase,
  type LedgerEntry,
  type LedgerItem,
} from '../reconcile/ledger.js';
import type { CheckMemo, CheckName, InstanceRecord, RestoreMemo } from '../reconcile/types.js';
import { mapLimit } from '../util/concurrency.js';
import { Update } from './update-expression.js';

const DAY_S = 86_400;
const CONCURRENCY = 16;
const SCAN_SEGMENTS = 4;

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

type Raw = Record<string, unknown>;

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException ||
  (e as { name?: string })?.name === 'ConditionalCheckFailedException';

const INSTANCE = 'INSTANCE#';
const TASK = 'TASK#';
// A task's subject id is already `TASK#<arn>` (reconcile/tasks.ts): its item is keyed by it as it is.
const keyOf = (instanceId: string) => ({ pk: instanceId.startsWith(TASK) ? instanceId : `${INSTANCE}${instanceId}`, sk: 'STATE' });
const restoreAttr = (hostId: string) => `R#${hostId}`;
const checkAttr = (name: string, hostId: string) => `C#${name}#${hostId}`;
const actionAttr = (key: string) => `A#${key}`;
const eventAttr = (eventId: string) => `E#${eventId}`;

function toRecord(item: Raw): InstanceRecord {
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

function toEntry(v: Raw): LedgerEntry | undefined {
  const runId = String(v.runId ?? '');
  if (v.status === 'done') return { status: 'done', runId, doneAt: Number(v.doneAt) };
  if (v.status === 'claimed') {
    return { status: 'claimed', runId, claimedAt: Number(v.claimedAt), leaseUntil: Number(v.leaseUntil) };
  }
  return undefined;
}

/** Reads one attribute of an instance's item into the item; other attributes are the record's. */
function readAttribute(item: LedgerItem, attr: string, value: unknown): void {
  const v = (value ?? {}) as Raw;
  const id = item.instanceId;
  if (attr.startsWith('R#')) {
    const memo: RestoreMemo = { instanceId: id, hostId: attr.slice(2), status: v.status as RestoreMemo['status'], setAt: Number(v.setAt) };
    if (v.terminating === true) memo.terminating = true;
    item.restores.push(memo);
  } else if (attr.startsWith('C#')) {
    const cut = attr.lastIndexOf('#');
    const memo: CheckMemo = {
      instanceId: id,
      hostId: attr.slice(cut + 1),
      name: attr.slice(2, cut) as CheckName,
      status: v.status as CheckMemo['status'],
      changedAt: Number(v.changedAt),
      ...(typeof v.ref === 'string' ? { ref: v.ref } : {}),
    };
    item.checks.push(memo);
  } else if (attr.startsWith('E#')) {
    item.events.set(attr.slice(2), Number(value));
  } else if (attr.startsWith('A#')) {
    const entry = toEntry(v);
    if (entry) item.actions.set(attr.slice(2), entry);
  }
}

function toItem(raw: Raw): LedgerItem | undefined {
  if (raw.sk !== 'STATE' || typeof raw.pk !== 'string') return undefined;
  const task = raw.pk.startsWith(TASK);
  if (!task && !raw.pk.startsWith(INSTANCE)) return undefined;
  const item: LedgerItem = {
    instanceId: task ? raw.pk : raw.pk.slice(INSTANCE.length),
    record: typeof raw.state === 'string' ? toRecord(raw) : undefined,
    restores: [],
    checks: [],
    actions: new Map(),
    events: new Map(),
  };
  for (const [attr, value] of Object.entries(raw)) readAttribute(item, attr, value);
  return item;
}

const toItems = (raws: readonly Raw[]) => raws.flatMap((r) => toItem(r) ?? []);

export class DynamoLedger extends LedgerBase {
  readonly stats = { requests: 0 };
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    readonly tableName: string,
    client?: DynamoDBClient,
  ) {
    super();
    this.doc = DynamoDBDocumentClient.from(client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  private async send<T>(cmd: GetCommand | PutCommand | UpdateCommand | DeleteCommand): Promise<T> {
    this.stats.requests++;
    return (await this.doc.send(cmd as never)) as T;
  }

  /** Sends a conditional write; false when its condition did not hold. */
  private async sendIf(cmd: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.send(cmd);
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  protected async readAll(): Promise<LedgerItem[]> {
    const segments = await Promise.all(
      Array.from({ length: SCAN_SEGMENTS }, async (_, segment) => {
        const pages = paginateScan(
          { client: this.doc },
          {
            TableName: this.tableName,
            Segment: segment,
            TotalSegments: SCAN_SEGMENTS,
            FilterExpression: 'begins_with(pk, :p)',
            ExpressionAttributeValues: { ':p': INSTANCE },
          },
        );
        return this.drain(pages);
      }),
    );
    return segments.flat();
  }

  protected async readSome(instanceIds: readonly string[]): Promise<LedgerItem[]> {
    const each = await mapLimit(instanceIds, CONCURRENCY, async (id) => {
      const pages = paginateQuery(
        { client: this.doc },
        {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keyOf(id).pk },
        },
      );
      return this.drain(pages);
    });
    return each.flat();
  }

  /** The items of every page, each page a request. */
  private async drain(pages: AsyncIterable<{ Items?: Raw[] }>): Promise<LedgerItem[]> {
    const items: LedgerItem[] = [];
    for await (const page of pages) {
      this.stats.requests++;
      items.push(...toItems(page.Items ?? []));
    }
    return items;
  }

  protected async readOne(instanceId: string): Promise<LedgerItem | undefined> {
    const res = await this.send<{ Item?: Raw }>(
      new GetCommand({ TableName: this.tableName, Key: keyOf(instanceId), ConsistentRead: true }),
    );
    return res.Item ? toItem(res.Item) : undefined;
  }

  protected writeBegin(w: BeginWrite): Promise<boolean> {
    const u = new Update();
    if (w.record) {
      for (const f of RECORD_FIELDS) if (w.record[f] !== undefined) u.set(f, w.record[f]);
    } else u.set('instanceId', w.instanceId);
    if (w.expiresAt !== undefined) {
      u.setRaw(`${u.name('expiresAt')} = if_not_exists(${u.name('expiresAt')}, ${u.value(w.expiresAt)})`);
    }
    for (const m of w.restores) {
      u.set(restoreAttr(m.hostId), { status: m.status, setAt: m.setAt, ...(m.terminating ? { terminating: true } : {}) });
    }
    for (const { key, entry } of w.claims) {
      const a = u.name(actionAttr(key));
      u.setRaw(`${a} = ${u.value(entry)}`);
      // claimIsFree: nobody holds it, or a claim whose lease ran out.
      u.condition(
        `(attribute_not_exists(${a}) OR (${a}.${u.name('status')} = ${u.value('claimed')} AND ${a}.${u.name('leaseUntil')} < ${u.value(w.nowMs)}))`,
      );
    }
    for (const key of w.prune.actions) u.remove(actionAttr(key));
    for (const id of w.prune.events) u.remove(eventAttr(id));
    u.condition(
      w.expectVersion !== undefined
        ? `${u.name('version')} = ${u.value(w.expectVersion)}`
        : `attribute_not_exists(${u.name('version')})`,
    );
    return this.sendIf(u.command(this.tableName, keyOf(w.instanceId)));
  }

  protected async writeFinish(w: FinishWrite): Promise<void> {
    const u = new Update();
    for (const { key, entry } of w.done) u.set(actionAttr(key), entry);
    for (const m of w.checks) {
      u.set(checkAttr(m.name, m.hostId), { status: m.status, changedAt: m.changedAt, ...(m.ref ? { ref: m.ref } : {}) });
    }
    for (const e of w.events) u.set(eventAttr(e.id), e.at);
    for (const hostId of w.forgetRestores) u.remove(restoreAttr(hostId));
    for (const c of w.forgetChecks) u.remove(checkAttr(c.name, c.hostId));
    u.condition(`attribute_exists(${u.name('pk')})`);
    await this.sendIf(u.command(this.tableName, keyOf(w.instanceId)));
  }

  protected async releaseClaim(instanceId: string, key: string, runId: string): Promise<void> {
    const r = new Update();
    const a = r.name(actionAttr(key));
    // releasable: the run's own claim, still a claim.
    r.remove(actionAttr(key)).condition(`${a}.${r.name('runId')} = ${r.value(runId)}`);
    r.condition(`${a}.${r.name('status')} = ${r.value('claimed')}`);
    await this.sendIf(r.command(this.tableName, keyOf(instanceId)));
  }

  protected putLease(name: string, lease: Lease, nowMs: number): Promise<boolean> {
    return this.sendIf(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `LEASE#${name}`,
          sk: 'LEASE',
          ...lease,
          expiresAt: Math.floor(lease.leaseUntil / 1000) + DAY_S,
        },
        // leaseIsFree
        ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
        ExpressionAttributeValues: { ':now': nowMs },
      }),
    );
  }

  protected async deleteLease(name: string, holder: string): Promise<void> {
    await this.sendIf(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `LEASE#${name}`, sk: 'LEASE' },
        ConditionExpression: 'holder = :h',
        ExpressionAttributeValues: { ':h': holder },
      }),
    );
  }
}
