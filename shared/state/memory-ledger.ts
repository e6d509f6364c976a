/**
 * The ledger in memory: the second implementation of the port (unit and property tests run the executor on it,
 * and it passes the same contract suite as the DynamoDB one). Each write checks its conditions and applies
 * itself in one synchronous step, so concurrent runs in one process interleave only between requests, as they
 * do against DynamoDB. Items are copied in and out: nobody holds a reference into the store.
 */
import {
  type BeginWrite,
  claimIsFree,
  type FinishWrite,
  type Lease,
  LedgerBase,
  type LedgerItem,
  leaseIsFree,
  releasable,
} from '../reconcile/ledger.js';
import type { InstanceRecord } from '../reconcile/types.js';

interface StoredItem extends LedgerItem {
  expiresAt?: number;
}

/** The record's fields that are set; the rest of a stored record stays (as an update of named fields does). */
const definedFields = (r: InstanceRecord) =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Partial<InstanceRecord>;

const memoKey = (m: { name: string; hostId: string }) => `${m.name}#${m.hostId}`;

export class MemoryLedger extends LedgerBase {
  /** requests answered, as a DynamoDB table would count them (one per read or write) */
  readonly stats = { requests: 0 };
  readonly #items = new Map<string, StoredItem>();
  readonly #leases = new Map<string, Lease>();

  /** A copy of one instance's item as stored (for tests that look at what a run left behind). */
  item(instanceId: string): StoredItem | undefined {
    const item = this.#items.get(instanceId);
    return item && structuredClone(item);
  }

  protected async readAll(): Promise<LedgerItem[]> {
    this.stats.requests++;
    return structuredClone([...this.#items.values()]);
  }

  protected async readSome(instanceIds: readonly string[]): Promise<LedgerItem[]> {
    this.stats.requests += instanceIds.length;
    return instanceIds.flatMap((id) => this.item(id) ?? []);
  }

  protected async readOne(instanceId: string): Promise<LedgerItem | undefined> {
    this.stats.requests++;
    return this.item(instanceId);
  }

  protected async writeBegin(w: BeginWrite): Promise<boolean> {
    this.stats.requests++;
    const old = this.#items.get(w.instanceId);
    if (old?.record?.version !== w.expectVersion) return false;
    if (!w.claims.every((c) => claimIsFree(old?.actions.get(c.key), w.nowMs))) return false;
    const item: StoredItem = structuredClone(old) ?? {
      instanceId: w.instanceId,
      restores: [],
      checks: [],
      actions: new Map(),
      events: new Map(),
    };
    if (w.record) item.record = { ...item.record, ...definedFields(w.record) } as InstanceRecord;
    item.expiresAt ??= w.expiresAt;
    const restored = new Set(w.restores.map((m) => m.hostId));
    const restores = w.restores.map((m) => ({ ...m, instanceId: w.instanceId }));
    item.restores = [...item.restores.filter((m) => !restored.has(m.hostId)), ...restores];
    for (const { key, entry } of w.claims) item.actions.set(key, { ...entry });
    for (const key of w.prune.actions) item.actions.delete(key);
    for (const id of w.prune.events) item.events.delete(id);
    this.#items.set(w.instanceId, item);
    return true;
  }

  protected async writeFinish(w: FinishWrite): Promise<void> {
    this.stats.requests++;
    const item = this.#items.get(w.instanceId);
    if (!item) return;
    for (const { key, entry } of w.done) item.actions.set(key, { ...entry });
    const set = new Map(w.checks.map((m) => [memoKey(m), { ...m, instanceId: w.instanceId }]));
    const forgotten = new Set(w.forgetChecks.map(memoKey));
    item.checks = [...item.checks.filter((m) => !set.has(memoKey(m))), ...set.values()].filter(
      (m) => !forgotten.has(memoKey(m)),
    );
    for (const e of w.events) item.events.set(e.id, e.at);
    const forgetRestores = new Set(w.forgetRestores);
    item.restores = item.restores.filter((m) => !forgetRestores.has(m.hostId));
  }

  protected async releaseClaim(instanceId: string, key: string, runId: string): Promise<void> {
    this.stats.requests++;
    const item = this.#items.get(instanceId);
    if (item && releasable(item.actions.get(key), runId)) item.actions.delete(key);
  }

  protected async putLease(name: string, lease: Lease, nowMs: number): Promise<boolean> {
    this.stats.requests++;
    if (!leaseIsFree(this.#leases.get(name), nowMs)) return false;
    this.#leases.set(name, { ...lease });
    return true;
  }

  protected async deleteLease(name: string, holder: string): Promise<void> {
    this.stats.requests++;
    if (this.#leases.get(name)?.holder === holder) this.#leases.delete(name);
  }
}
