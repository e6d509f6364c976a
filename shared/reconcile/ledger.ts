/**
 * The ledger's rules, once for every implementation (the model is Powertools idempotency's
 * BasePersistenceLayer: the base class holds the rules, an implementation only reads and writes).
 *
 * Per instance a ledger keeps one item: the record (ownership, state, version, links) and beside it restore
 * memos, check memos, the action ledger (each side effect claimed with a lease, then done) and the events
 * already handled. A run writes an item twice: `begin` before acting (the sighting, the restore memos and the
 * claims, conditional on the version it read and on each claim being free) and `finish` after. A conflict is
 * settled here: the item is read again, the keys another run holds are set aside and the sighting is
 * re-applied on top (`rebase`). Implementations: shared/state/dynamo-ledger.ts, shared/state/memory-ledger.ts.
 */
import { LedgerError } from '../errors.js';
import { mapLimit } from '../util/concurrency.js';
import type {
  BeginResult,
  InstanceCommit,
  InstanceOutcome,
  Ledger,
  LedgerState,
  StaleEntries,
} from './ports.js';
import { rebase } from './record.js';
import { TASK_SUBJECT } from './container-host.js';
import type { CheckMemo, CheckName, InstanceRecord, RestoreMemo } from './types.js';

const DAY_S = 86_400;
/** an ended instance's item lives this long after its end */
export const RECORD_TTL_AFTER_END_S = 30 * DAY_S;
/** handled event ids are kept this long; EventBridge redelivers within a day */
export const EVENT_KEEP_S = 2 * DAY_S;
/** done ledger entries are kept this long; a run lives at most 15 minutes, so this is ample */
export const LEDGER_KEEP_S = 7 * DAY_S;
const CONFLICT_ATTEMPTS = 5;
const CONCURRENCY = 16;

/** One side effect in the action ledger: claimed by a run (until its lease runs out), then done. */
export type LedgerEntry =
  | { status: 'claimed'; runId: string; claimedAt: number; leaseUntil: number }
  | { status: 'done'; runId: string; doneAt: number };

/** One instance's item, as an implementation reads it. */
export interface LedgerItem {
  instanceId: string;
  /** absent while no sighting was stored (an item holding claims only): not an instance this account owns */
  record?: InstanceRecord;
  restores: RestoreMemo[];
  checks: CheckMemo[];
  /** action key → entry */
  actions: Map<string, LedgerEntry>;
  /** event id → epoch seconds it was handled */
  events: Map<string, number>;
}

/** The sweep lease: one holder at a time, until `leaseUntil` (epoch ms). */
export interface Lease {
  holder: string;
  acquiredAt: number;
  leaseUntil: number;
}

/**
 * What `begin` writes, all or nothing: only if the stored record's version is `expectVersion` (undefined: only
 * if no record is stored) and every claim is free (`claimIsFree` of the stored entry at `nowMs`).
 */
export interface BeginWrite {
  instanceId: string;
  expectVersion?: number;
  /** the record's fields to set (undefined: only make sure the item exists) */
  record?: InstanceRecord;
  /** epoch seconds the item may be deleted, set only where none is set yet (the instance ended) */
  expiresAt?: number;
  restores: RestoreMemo[];
  claims: { key: string; entry: LedgerEntry }[];
  nowMs: number;
  /** entries to drop; never one this write claims */
  prune: StaleEntries;
}

/** What `finish` writes, only if the item exists; each memo named once (a forgotten one is not also set). */
export interface FinishWrite {
  instanceId: string;
  done: { key: string; entry: LedgerEntry }[];
  checks: CheckMemo[];
  events: { id: string; at: number }[];
  forgetRestores: string[];
  forgetChecks: { name: CheckName; hostId: string }[];
}

// --- the rules ---

/** A claim is free when nobody holds it, or its run died between claiming and finishing (its lease ran out). */
export const claimIsFree = (entry: LedgerEntry | undefined, nowMs: number): boolean =>
  entry === undefined || (entry.status === 'claimed' && entry.leaseUntil < nowMs);

/** How another run holds a key: done, or claimed and still leased; undefined when it is free. */
export function heldAs(entry: LedgerEntry | undefined, nowMs: number): 'done' | 'in-progress' | undefined {
  if (entry?.status === 'done') return 'done';
  if (entry?.status === 'claimed' && entry.leaseUntil >= nowMs) return 'in-progress';
  return undefined;
}

/** A claim is given back only by the run that holds it, and only while it is a claim. */
export const releasable = (entry: LedgerEntry | undefined, runId: string): boolean =>
  entry?.status === 'claimed' && entry.runId === runId;

/** The lease is free when nobody holds it or its holder's time ran out. */
export const leaseIsFree = (lease: Lease | undefined, nowMs: number): boolean =>
  lease === undefined || lease.leaseUntil < nowMs;

const staleAction = (e: LedgerEntry, nowS: number) => e.status === 'done' && e.doneAt / 1000 < nowS - LEDGER_KEEP_S;
const staleEvent = (handledAt: number, nowS: number) => handledAt < nowS - EVENT_KEEP_S;
export const hasEntries = (s: StaleEntries | undefined): s is StaleEntries =>
  s !== undefined && s.actions.length + s.events.length > 0;

const emptyState = (): LedgerState => ({ records: [], restores: [], checks: [], events: new Set(), stale: new Map() });

/** The state the items hold at `nowS`: items without a record are no instance; outlived entries are stale. */
export function collect(items: Iterable<LedgerItem>, nowS: number, into = emptyState()): LedgerState {
  for (const item of items) {
    if (!item.record) continue;
    const id = item.instanceId;
    into.records.push(item.record);
    into.restores.push(...item.restores);
    into.checks.push(...item.checks);
    const stale: StaleEntries = { actions: [], events: [] };
    for (const [eventId, at] of item.events) {
      if (staleEvent(at, nowS)) stale.events.push(eventId);
      else into.events.add(`${id}#${eventId}`);
    }
    for (const [key, entry] of item.actions) if (staleAction(entry, nowS)) stale.actions.push(key);
    if (hasEntries(stale)) into.stale.set(id, stale);
  }
  return into;
}

/** One attempt of `begin`: the record it was computed from, the record to store, the keys still to claim. */
interface Attempt {
  base?: InstanceRecord;
  next?: InstanceRecord;
  claims: string[];
}

function beginWrite(c: InstanceCommit, at: Attempt, runId: string, nowMs: number, leaseMs: number): BeginWrite {
  const claimed = new Set(at.claims);
  const { base, next } = at;
  const ends =
    next?.state === 'terminated' ||
    (next?.goneAt !== undefined && base?.goneAt === undefined) ||
    // a task's item holds only its claims: it ends with the task (retired hosts are not seen again)
    c.instanceId.startsWith(TASK_SUBJECT);
  // One memo per host, written only with the claim of the poweroff it undoes.
  const restores = new Map(c.restores.filter((r) => claimed.has(r.key)).map(({ memo }) => [memo.hostId, memo]));
  return {
    instanceId: c.instanceId,
    expectVersion: base?.version,
    record: next,
    expiresAt: ends ? (next?.goneAt ?? Math.floor(nowMs / 1000)) + RECORD_TTL_AFTER_END_S : undefined,
    restores: [...restores.values()],
    claims: at.claims.map((key) => ({
      key,
      entry: { status: 'claimed', runId, claimedAt: nowMs, leaseUntil: nowMs + leaseMs },
    })),
    nowMs,
    prune: { actions: (c.prune?.actions ?? []).filter((k) => !claimed.has(k)), events: c.prune?.events ?? [] },
  };
}

/** After a conflict: what another run holds is reported, the rest claimed again on top of what it wrote. */
function afterConflict(at: Attempt, item: LedgerItem | undefined, nowMs: number, held: BeginResult['held']): Attempt {
  for (const key of at.claims) {
    const h = heldAs(item?.actions.get(key), nowMs);
    if (h) held[key] = h;
  }
  const current = item?.record;
  return {
    base: current,
    next: at.next ? rebase(at.next, at.base, current) : undefined,
    claims: at.claims.filter((k) => !(k in held)),
  };
}

const unique = <T>(xs: readonly T[], key: (x: T) => string = String) => [
  ...new Map(xs.map((x) => [key(x), x])).values(),
];
const checkKey = (c: { name: string; hostId: string }) => `${c.name}#${c.hostId}`;

function finishWrite(o: InstanceOutcome, runId: string, nowMs: number): FinishWrite {
  const forgetChecks = unique(o.forgetChecks, checkKey);
  const forgotten = new Set(forgetChecks.map(checkKey));
  return {
    instanceId: o.instanceId,
    done: unique(o.done).map((key) => ({ key, entry: { status: 'done', runId, doneAt: nowMs } })),
    // A memo recorded and forgotten by the same run (a restore done, and its forget-memo) is forgotten.
    checks: unique(o.checks, checkKey).filter((m) => !forgotten.has(checkKey(m))),
    events: unique(o.events).map((id) => ({ id, at: Math.floor(nowMs / 1000) })),
    forgetRestores: unique(o.forgetRestores),
    forgetChecks,
  };
}

const isEmpty = (w: FinishWrite) =>
  w.done.length + w.checks.length + w.events.length + w.forgetRestores.length + w.forgetChecks.length === 0;

// --- the base class ---

export abstract class LedgerBase implements Ledger {
  async loadAll(nowS: number): Promise<LedgerState> {
    return collect(await this.readAll(), nowS);
  }

  async loadInstances(instanceIds: readonly string[], nowS: number): Promise<LedgerState> {
    return collect(await this.readSome([...new Set(instanceIds)]), nowS);
  }

  /**
   * Before acting: records the sighting, writes the restore memos and claims the actions, in one conditional
   * write. When another run wrote meanwhile, the item is read again and the change re-applied on top of it;
   * keys it holds are reported, not claimed.
   */
  async begin(c: InstanceCommit, runId: string, nowMs: number, leaseMs: number): Promise<BeginResult> {
    let at: Attempt = { base: c.base, next: c.next, claims: [...new Set(c.claims)] };
    const held: BeginResult['held'] = {};
    for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
      // Nothing to write: a steady instance costs no request.
      if (!at.next && at.claims.length === 0 && !hasEntries(c.prune)) return { claimed: [], held, record: at.base };
      if (await this.writeBegin(beginWrite(c, at, runId, nowMs, leaseMs))) {
        return { claimed: at.claims, held, record: at.next ?? at.base };
      }
      at = afterConflict(at, await this.readOne(c.instanceId), nowMs, held);
    }
    throw new LedgerError(`state of ${c.instanceId} kept changing under concurrent writers`);
  }

  /** After acting: marks actions done, gives failed claims back, and records memos and handled events. */
  async finish(o: InstanceOutcome, runId: string, nowMs: number): Promise<void> {
    const w = finishWrite(o, runId, nowMs);
    if (!isEmpty(w)) await this.writeFinish(w);
    await mapLimit(unique(o.released), CONCURRENCY, (key) => this.releaseClaim(o.instanceId, key, runId));
  }

  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number): Promise<boolean> {
    return this.putLease(name, { holder, acquiredAt: nowMs, leaseUntil: nowMs + ttlMs }, nowMs);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return this.deleteLease(name, holder);
  }

  /** every item */
  protected abstract readAll(): Promise<Iterable<LedgerItem>>;
  /** the items of these instances (as of a recent read) */
  protected abstract readSome(instanceIds: readonly string[]): Promise<Iterable<LedgerItem>>;
  /** one item, as it is now (a consistent read) */
  protected abstract readOne(instanceId: string): Promise<LedgerItem | undefined>;
  /** the write of `begin`, all or nothing under its conditions: false when they do not hold */
  protected abstract writeBegin(w: BeginWrite): Promise<boolean>;
  /** the write of `finish`, only where the item exists */
  protected abstract writeFinish(w: FinishWrite): Promise<void>;
  /** removes the entry of `key` where it is `releasable` by `runId` */
  protected abstract releaseClaim(instanceId: string, key: string, runId: string): Promise<void>;
  /** stores the lease where `leaseIsFree` at `nowMs`: false when another holds it */
  protected abstract putLease(name: string, lease: Lease, nowMs: number): Promise<boolean>;
  /** removes the lease where `holder` holds it */
  protected abstract deleteLease(name: string, holder: string): Promise<void>;
}
