/**
 * Reads `GET /api/v0/hosts` as a stream. The API has no paging and each host carries its agent's full `meta`
 * (~5.6 KB), so 50,000 hosts are ~280 MB of JSON: buffering the text and parsing it whole needs several times
 * that in memory, and one timeout for the whole exchange fails a list that is merely long.
 *
 * Instead a small scanner walks the bytes, tracking only string/escape state and bracket depth (the bytes that
 * matter, `"` `\` `{` `}` `[` `]` `,` `:`, are ASCII and never occur inside a multi-byte UTF-8 sequence, so a
 * chunk boundary anywhere is harmless), cuts out one element of `hosts` at a time, parses that slice alone and
 * hands it on. Nothing else is kept. Other top-level keys are skipped; skipped values are checked for balance
 * only, each host element is checked in full by `JSON.parse`.
 *
 * Three time bounds, each its own error: time to the response headers, idle time between two chunks (a stall),
 * and the run's deadline. Whichever is hit aborts the exchange.
 */
import {
  type EnvelopeProblem,
  HostListDeadlineError,
  HostListEnvelopeError,
  HostListFirstByteTimeoutError,
  HostListStalledError,
  HostListTimeoutError,
  HostListTruncatedError,
} from './errors.js';

export type OnHost = (raw: unknown, index: number) => void;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const BOM = [0xef, 0xbb, 0xbf];
/** Keys longer than this cannot be `hosts`; their bytes are not kept. */
const KEY_KEEP_LIMIT = 64;
/** No JSON number or literal is this long. */
const SCALAR_LIMIT = 1024;

const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
/** Bytes that end a number or literal (the JSON grammar's delimiters). */
const endsScalar = (b: number) =>
  isWhitespace(b) || b === COMMA || b === COLON || b === RBRACE || b === RBRACKET || b === LBRACE ||
  b === LBRACKET || b === QUOTE;
const startsScalar = (b: number) => b === 0x2d || (b >= 0x30 && b <= 0x39) || b === 0x74 || b === 0x66 || b === 0x6e;

type Phase =
  | 'start' // before the top-level value
  | 'key-or-close' // just after `{`
  | 'key' // after a top-level `,`
  | 'in-key'
  | 'colon'
  | 'value' // before a top-level value
  | 'in-value' // inside a top-level value that is not `hosts` (skipped)
  | 'after-value'
  | 'element-or-close' // just after the `[` of `hosts`
  | 'element' // after a `,` in `hosts`
  | 'in-element'
  | 'after-element'
  | 'end';

/** A value being read: a nested object/array or a string (bracket and string state), or a scalar. */
interface Pending {
  scalar: boolean;
  depth: number;
  inString: boolean;
  escape: boolean;
  /** the value's bytes so far, when they are needed (an element, a key, a scalar) */
  parts: Uint8Array[] | undefined;
  size: number;
}

/**
 * Push-driven scanner of `{"hosts": [ … ]}`. `push` each chunk as it arrives, then `end`. Throws
 * `HostListEnvelopeError` as soon as the envelope is wrong and `HostListTruncatedError` from `end` when the body
 * stops inside it.
 */
export class HostListScanner {
  #phase: Phase = 'start';
  #pending: Pending | undefined;
  #offset = 0;
  #count = 0;
  #isHosts = false;
  #hostsSeen = false;
  readonly #decoder = new TextDecoder();

  constructor(private readonly onHost: OnHost) {}

  get bytes(): number {
    return this.#offset;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#pending) {
        i = this.#pending.scalar ? this.#continueScalar(chunk, i) : this.#continueNested(chunk, i);
        continue;
      }
      const b = chunk[i] as number;
      const at = this.#offset + i;
      if (isWhitespace(b) || (this.#phase === 'start' && at < 3 && b === BOM[at])) {
        i++;
        continue;
      }
      // A scalar is not consumed here: its first byte starts it, and it ends at the next delimiter.
      if (!this.#structural(b, at)) i++;
    }
    this.#offset += chunk.length;
  }

  /** The body ended: it must have ended right after the top-level object. */
  end(): { count: number; bytes: number } {
    if (this.#phase === 'end' && !this.#pending) return { count: this.#count, bytes: this.#offset };
    if (this.#phase === 'start') this.#fail('not-json', '', 'body is empty');
    const where = this.#where();
    const inside = where === '' ? 'inside the top-level object' : `inside ${where}`;
    throw new HostListTruncatedError(this.#offset, `the body ends ${inside}`);
  }

  /** One byte between values. Returns true when it started a scalar (left for the scalar to consume). */
  #structural(b: number, at: number): boolean {
    switch (this.#phase) {
      case 'start':
        if (b === LBRACE) this.#phase = 'key-or-close';
        else if (b === LBRACKET || b === QUOTE || startsScalar(b))
          this.#fail('not-object', '', `body is ${kindOf(b)}, not an object`);
        else this.#unexpected(b, at);
        return false;
      case 'key-or-close':
      case 'key':
        if (b === QUOTE) this.#begin('in-key', b, true);
        else if (b === RBRACE && this.#phase === 'key-or-close') this.#close();
        else this.#unexpected(b, at);
        return false;
      case 'colon':
        if (b !== COLON) this.#unexpected(b, at);
        this.#phase = 'value';
        return false;
      case 'value':
        return this.#topValue(b, at);
      case 'after-value':
        if (b === COMMA) this.#phase = 'key';
        else if (b === RBRACE) this.#close();
        else this.#unexpected(b, at);
        return false;
      case 'element-or-close':
      case 'element':
        if (b === RBRACKET && this.#phase === 'element-or-close') {
          this.#phase = 'after-value';
          return false;
        }
        return this.#startValue('in-element', b, at, true);
      case 'after-element':
        if (b === COMMA) this.#phase = 'element';
        else if (b === RBRACKET) this.#phase = 'after-value';
        else this.#unexpected(b, at);
        return false;
      default:
        return this.#fail('not-json', '', `body is not JSON: unexpected ${show(b)} after the top-level object (byte ${at})`);
    }
  }

  #topValue(b: number, at: number): boolean {
    if (!this.#isHosts) return this.#startValue('in-value', b, at, false);
    if (this.#hostsSeen) this.#fail('hosts-repeated', 'hosts', 'appears twice in the body');
    this.#hostsSeen = true;
    if (b === LBRACKET) {
      this.#phase = 'element-or-close';
      return false;
    }
    if (b === LBRACE || b === QUOTE || startsScalar(b))
      this.#fail('hosts-not-array', 'hosts', `is ${kindOf(b)}, not an array`);
    return this.#unexpected(b, at);
  }

  /** Starts a value at `b`; returns true for a scalar, whose first byte is still to be consumed. */
  #startValue(phase: Phase, b: number, at: number, keep: boolean): boolean {
    if (b === LBRACE || b === LBRACKET || b === QUOTE) {
      this.#begin(phase, b, keep);
      return false;
    }
    if (!startsScalar(b)) this.#unexpected(b, at);
    this.#phase = phase;
    this.#pending = { scalar: true, depth: 0, inString: false, escape: false, parts: [], size: 0 };
    return true;
  }

  #begin(phase: Phase, b: number, keep: boolean): void {
    this.#phase = phase;
    const inString = b === QUOTE;
    this.#pending = {
      scalar: false,
      depth: inString ? 0 : 1,
      inString,
      escape: false,
      parts: keep ? [Uint8Array.of(b)] : undefined,
      size: 1,
    };
  }

  /** The hot loop: depth and string state only, over the bytes of one nested value or string. */
  #continueNested(chunk: Uint8Array, from: number): number {
    const p = this.#pending as Pending;
    const n = chunk.length;
    let depth = p.depth;
    let i = from;
    let done = false;
    if (p.inString) {
      const end = closingQuote(chunk, i, p.escape);
      if (end < 0) return this.#inStringAtEnd(p, chunk, from, end);
      p.inString = false;
      i = end + 1;
      done = depth === 0; // a string value
    }
    while (!done && i < n) {
      const b = chunk[i] as number;
      if (b === QUOTE) {
        const end = closingQuote(chunk, i + 1, false);
        if (end < 0) return this.#inStringAtEnd(p, chunk, from, end, depth);
        i = end + 1;
        continue;
      }
      if (b === LBRACE || b === LBRACKET) depth++;
      else if ((b === RBRACE || b === RBRACKET) && --depth === 0) done = true;
      i++;
    }
    p.depth = depth;
    this.#keep(p, chunk, from, i, done);
    if (done) this.#finish(p, this.#offset + i);
    return i;
  }

  /** The chunk ended inside a string of the value in progress. */
  #inStringAtEnd(p: Pending, chunk: Uint8Array, from: number, end: number, depth = p.depth): number {
    p.depth = depth;
    p.inString = true;
    p.escape = end === CHUNK_ENDS_ESCAPED;
    this.#keep(p, chunk, from, chunk.length, false);
    return chunk.length;
  }

  #continueScalar(chunk: Uint8Array, from: number): number {
    const p = this.#pending as Pending;
    let i = from;
    while (i < chunk.length && !endsScalar(chunk[i] as number)) i++;
    const done = i < chunk.length;
    this.#keep(p, chunk, from, i, done);
    if (p.size > SCALAR_LIMIT) {
      const where = this.#where();
      const what = `a value of over ${SCALAR_LIMIT} bytes is no number or literal`;
      this.#fail('not-json', where, where === '' ? `body is not JSON: ${what}` : `is not JSON: ${what}`);
    }
    if (done) this.#finish(p, this.#offset + i);
    return i;
  }

  #keep(p: Pending, chunk: Uint8Array, from: number, to: number, done: boolean): void {
    p.size += to - from;
    if (p.parts === undefined || to === from) return;
    if (this.#phase === 'in-key' && p.size > KEY_KEEP_LIMIT) {
      p.parts = undefined;
      return;
    }
    // A piece that outlives this chunk is copied: a stream may reuse its buffer.
    p.parts.push(done ? chunk.subarray(from, to) : chunk.slice(from, to));
  }

  #finish(p: Pending, at: number): void {
    this.#pending = undefined;
    const text = p.parts === undefined ? undefined : this.#decode(p.parts, p.size);
    if (this.#phase === 'in-key') {
      this.#isHosts = text !== undefined && parseOr(text) === 'hosts';
      this.#phase = 'colon';
    } else if (this.#phase === 'in-value') {
      if (text !== undefined && parseOr(text, invalid) === invalid) {
        this.#fail('not-json', '', `body is not JSON: a value before byte ${at} is not JSON`);
      }
      this.#phase = 'after-value';
    } else {
      const index = this.#count;
      const raw = parseOr(text as string, invalid);
      if (raw === invalid) this.#fail('not-json', `hosts.${index}`, 'is not valid JSON');
      this.#count++;
      this.#phase = 'after-element';
      this.onHost(raw, index);
    }
  }

  #decode(parts: Uint8Array[], size: number): string {
    if (parts.length === 1) return this.#decoder.decode(parts[0]);
    const all = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    return this.#decoder.decode(all.subarray(0, at));
  }

  #close(): void {
    this.#phase = 'end';
    if (!this.#hostsSeen) this.#fail('hosts-missing', 'hosts', 'is missing');
  }

  /** Where the scanner is, as a response issue path. */
  #where(): string {
    if (this.#phase === 'in-element') return `hosts.${this.#count}`;
    const inHosts = this.#phase === 'element' || this.#phase === 'element-or-close' || this.#phase === 'after-element';
    return inHosts ? 'hosts' : '';
  }

  #unexpected(b: number, at: number): never {
    const where = this.#where();
    const what = `unexpected ${show(b)} at byte ${at}`;
    return this.#fail('not-json', where, where === '' ? `body is not JSON: ${what}` : `is not JSON: ${what}`);
  }

  #fail(problem: EnvelopeProblem, where: string, message: string): never {
    throw new HostListEnvelopeError(problem, where, message);
  }
}

/** `closingQuote` found no quote: the chunk ends inside the string (the last byte an unpaired backslash, or not). */
const CHUNK_ENDS_IN_STRING = -1;
const CHUNK_ENDS_ESCAPED = -2;

/**
 * Inside a string from `from` (the byte at `from` escaped when `escaped`): the index of its closing quote, or
 * where the chunk left it. Most of a host's bytes are in strings, so this jumps from quote to quote with
 * indexOf; a quote ends the string unless an odd run of backslashes precedes it.
 */
function closingQuote(chunk: Uint8Array, from: number, escaped: boolean): number {
  let i = escaped ? from + 1 : from;
  for (;;) {
    const q = i < chunk.length ? chunk.indexOf(QUOTE, i) : -1;
    if (q < 0) return oddBackslashesBefore(chunk, chunk.length, i) ? CHUNK_ENDS_ESCAPED : CHUNK_ENDS_IN_STRING;
    if (!oddBackslashesBefore(chunk, q, i)) return q;
    i = q + 1;
  }
}

/** Whether the run of backslashes just before `at` (not reaching back past `floor`) is of odd length. */
function oddBackslashesBefore(chunk: Uint8Array, at: number, floor: number): boolean {
  let k = at - 1;
  while (k >= floor && chunk[k] === BACKSLASH) k--;
  return (at - 1 - k) % 2 === 1;
}

const invalid = Symbol('invalid');

function parseOr<T>(text: string, fallback?: T): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

function kindOf(b: number): string {
  if (b === LBRACE) return 'an object';
  if (b === LBRACKET) return 'an array';
  if (b === QUOTE) return 'a string';
  if (b === 0x74 || b === 0x66) return 'a boolean';
  if (b === 0x6e) return 'null';
  return 'a number';
}

function show(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

/** Scans a whole body given as chunks (tests, and any source that is not a fetch Response). */
export async function scanHostList(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onHost: OnHost,
): Promise<{ count: number; bytes: number }> {
  const scanner = new HostListScanner(onHost);
  for await (const chunk of chunks) scanner.push(chunk);
  return scanner.end();
}

export interface HostStreamBounds {
  /** time to the response headers */
  ttfbMs: number;
  /** longest wait for the next chunk of the body */
  idleMs: number;
  /** epoch ms by which the whole body must have been read */
  deadline?: number;
}

export type HostStreamResult =
  | { ok: true; count: number; bytes: number }
  /** not 2xx: the caller turns status and body into its own error */
  | { ok: false; status: number; statusText: string; retryAfter: string | null; text: string };

/** An error body is a line of JSON; more than this is not worth reading. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** setTimeout's ceiling. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One exchange: `open` starts the request with the given signal, each host element goes to `onHost` as it
 * arrives. Failures before the headers are rethrown as they are (the caller describes network errors).
 */
export async function readHostStream(
  open: (signal: AbortSignal) => Promise<Response>,
  onHost: OnHost,
  bounds: HostStreamBounds,
): Promise<HostStreamResult> {
  const controller = new AbortController();
  const started = Date.now();
  const scanner = new HostListScanner(onHost);
  const deadlineHit = () => new HostListDeadlineError(Date.now() - started, scanner.bytes);
  const watched = <T>(p: Promise<T>, limitMs: number, limitHit: () => Error) =>
    within(p, controller, limitMs, bounds.deadline, limitHit, deadlineHit);
  let settled = false;
  try {
    if (bounds.deadline !== undefined && Date.now() >= bounds.deadline) throw deadlineHit();
    const ttfb = () => new HostListFirstByteTimeoutError(bounds.ttfbMs);
    const stalled = () => new HostListStalledError(bounds.idleMs, scanner.bytes);
    const res = await watched(open(controller.signal), bounds.ttfbMs, ttfb);
    if (!res.ok) {
      const text = await readErrorBody(res, (p) => watched(p, bounds.idleMs, stalled));
      const { status, statusText } = res;
      return { ok: false, status, statusText, retryAfter: res.headers.get('retry-after'), text };
    }
    const reader = res.body?.getReader();
    for (;;) {
      const next = reader ? await readChunk(watched(reader.read(), bounds.idleMs, stalled), scanner) : undefined;
      if (next === undefined) break;
      scanner.push(next);
    }
    const result = scanner.end();
    settled = true;
    return { ok: true, ...result };
  } finally {
    // Stop the download whatever went wrong: a timeout, a wrong envelope, or onHost refusing a host.
    if (!settled) controller.abort();
  }
}

/** The next chunk, undefined at the end; a broken connection mid-body is a truncated body. */
async function readChunk(
  read: Promise<ReadableStreamReadResult<Uint8Array>>,
  scanner: HostListScanner,
): Promise<Uint8Array | undefined> {
  try {
    const { done, value } = await read;
    return done ? undefined : value;
  } catch (err) {
    if (err instanceof HostListTimeoutError) throw err;
    throw new HostListTruncatedError(scanner.bytes, describe(err));
  }
}

async function readErrorBody(
  res: Response,
  watched: <T>(p: Promise<T>) => Promise<T>,
): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < ERROR_BODY_LIMIT) {
    const { done, value } = await watched(reader.read());
    if (done) break;
    parts.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * `p`, unless the tighter of `limitMs` and the deadline passes first: then the exchange is aborted and the
 * bound's own error is thrown.
 */
function within<T>(
  p: Promise<T>,
  controller: AbortController,
  limitMs: number,
  deadline: number | undefined,
  limitHit: () => Error,
  deadlineHit: () => Error,
): Promise<T> {
  const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
  const byDeadline = left < limitMs;
  const waitMs = Math.min(MAX_TIMER_MS, Math.max(0, byDeadline ? left : limitMs));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = byDeadline ? deadlineHit() : limitHit();
      controller.abort(err);
      reject(err);
    }, waitMs);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String(cause.code) : undefined;
  return code ? `${err.message} (${code})` : err.message;
}
