/**
 * Findings go to EventBridge (PutEvents), for people and other automation to subscribe to.
 * PutEvents is not atomic: a 200 answer can still mark single entries failed, so each entry's outcome
 * is read and the failed ones are sent again. A finding that cannot be published is returned, not
 * thrown: losing a notification must not undo the reconciliation it reports on.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DETAIL_TYPES, type DetailType, type Finding } from '../reconcile/model.js';
import type { FindingSink, PublishResult } from '../reconcile/ports.js';
import { backoffDelay, realSleep } from '../retry.js';

export { DETAIL_TYPES, type DetailType, type Finding, type PublishResult };

export const FINDINGS_SOURCE = 'mackerel-reconciler';

export interface FindingsPublisherOptions {
  eventBusName: string;
  client?: EventBridgeClient;
  /** sends per entry, the first included; default 4 */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** backoff between rounds of re-sends; defaults 100 and 2000 */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** PutEvents limits: 10 entries per call, 256 KB per entry and per call. */
export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

/** A finding too large for EventBridge; nothing of the batch was sent. */
export class FindingTooLargeError extends Error {
  override readonly name = 'FindingTooLargeError';
  constructor(
    readonly detailType: string,
    readonly bytes: number,
  ) {
    super(
      `finding "${detailType}" is ${bytes} bytes, over the ${MAX_REQUEST_BYTES}-byte EventBridge entry limit`,
    );
  }
}

interface Pending {
  finding: Finding;
  entry: PutEventsRequestEntry;
  bytes: number;
}

export class FindingsPublisher implements FindingSink {
  readonly stats = { putEventsCalls: 0, entriesFailed: 0 };
  readonly #eventBusName: string;
  readonly #client: EventBridgeClient;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  constructor(opts: FindingsPublisherOptions) {
    if (!opts.eventBusName) throw new TypeError('eventBusName must be a non-empty string');
    this.#eventBusName = opts.eventBusName;
    this.#client = opts.client ?? new EventBridgeClient({});
    this.#maxAttempts = Math.max(1, Math.floor(opts.maxAttempts ?? 4));
    this.#sleep = opts.sleep ?? realSleep;
    this.#random = opts.random ?? Math.random;
    this.#baseDelayMs = opts.baseDelayMs ?? 100;
    this.#maxDelayMs = opts.maxDelayMs ?? 2000;
  }

  async publish(findings: readonly Finding[]): Promise<PublishResult> {
    // Validate everything before sending anything.
    let pending = findings.map((f) => this.#toPending(f));
    let published = 0;
    const errors = new Set<string>();

    for (let attempt = 1; pending.length > 0; attempt++) {
      const failedNow: Pending[] = [];
      for (const batch of batches(pending)) {
        const outcome = await this.#put(batch);
        published += batch.length - outcome.failed.length;
        failedNow.push(...outcome.failed);
        for (const e of outcome.errors) errors.add(e);
        // An exception (after the SDK's own retries) is not an entry-level hiccup: do not insist.
        if (outcome.thrown) return this.#giveUp(published, [...failedNow, ...rest(pending, batch)], errors);
      }
      pending = failedNow;
      if (pending.length === 0) break;
      if (attempt >= this.#maxAttempts) return this.#giveUp(published, pending, errors);
      await this.#sleep(backoffDelay(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random));
    }
    return { published, failed: [], errors: [...errors] };
  }

  #giveUp(published: number, failed: Pending[], errors: Set<string>): PublishResult {
    this.stats.entriesFailed += failed.length;
    return { published, failed: failed.map((p) => p.finding), errors: [...errors] };
  }

  async #put(batch: Pending[]): Promise<{ failed: Pending[]; errors: string[]; thrown: boolean }> {
    this.stats.putEventsCalls++;
    try {
      const res = await this.#client.send(new PutEventsCommand({ Entries: batch.map((p) => p.entry) }));
      const results = res.Entries ?? [];
      const failed: Pending[] = [];
      const errors: string[] = [];
      batch.forEach((p, i) => {
        const r = results[i];
        // Results come in request order; a missing result is not proof of delivery.
        if (r === undefined || r.ErrorCode) {
          failed.push(p);
          errors.push(r ? `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`.trim() : 'no result for entry');
        }
      });
      return { failed, errors, thrown: false };
    } catch (err) {
      const e = err as { name?: string; message?: string };
      return { failed: batch, errors: [`${e.name ?? 'Error'}: ${e.message ?? String(err)}`], thrown: true };
    }
  }

  #toPending(finding: Finding): Pending {
    if (!(DETAIL_TYPES as readonly string[]).includes(finding.detailType)) {
      throw new TypeError(
        `finding detailType "${finding.detailType}" is not one of ${DETAIL_TYPES.join(', ')}`,
      );
    }
    const entry: PutEventsRequestEntry = {
      Source: FINDINGS_SOURCE,
      DetailType: finding.detailType,
      Detail: JSON.stringify(finding.detail),
      EventBusName: this.#eventBusName,
    };
    if (finding.resources?.length) entry.Resources = [...finding.resources];
    const bytes = entrySize(entry);
    if (bytes > MAX_REQUEST_BYTES) throw new FindingTooLargeError(finding.detailType, bytes);
    return { finding, entry, bytes };
  }
}

/** Entry size as EventBridge counts it (AWS docs, "Calculating PutEvents event entry size"). */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const s of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (s) size += Buffer.byteLength(s, 'utf8');
  }
  return size;
}

/** Groups of ≤ 10 entries and ≤ 256 KB, in order. */
function batches(items: Pending[]): Pending[][] {
  const out: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const p of items) {
    if (
      current.length === MAX_ENTRIES_PER_CALL ||
      (current.length > 0 && bytes + p.bytes > MAX_REQUEST_BYTES)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The entries of `all` that come after `batch` (not yet sent in this round). */
function rest(all: Pending[], batch: Pending[]): Pending[] {
  const last = batch[batch.length - 1];
  return last === undefined ? [] : all.slice(all.indexOf(last) + 1);
}
