/** Typed errors of the Mackerel client. None of them ever carries the API key. */

/** Mackerel answered with a non-2xx status. */
export class MackerelApiError extends Error {
  override readonly name = 'MackerelApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** `error.message` of the body, or the HTTP status text when the body is not Mackerel's error shape */
    readonly apiMessage: string,
    /** a `Retry-After` the server sent, in ms */
    readonly retryAfterMs?: number,
  ) {
    super(`Mackerel API ${method} ${path} answered ${status}: ${apiMessage}`);
  }
}

export interface ResponseIssue {
  /** dotted field path in the body, e.g. `hosts.3.status`; empty for the body itself */
  path: string;
  message: string;
}

/** A 2xx body that is not JSON or not of the documented shape. Never retried: asking again will not fix it. */
export class MackerelResponseError extends Error {
  override readonly name: string = 'MackerelResponseError';
  constructor(
    readonly method: string,
    /** the request path, e.g. `/api/v0/hosts` */
    readonly path: string,
    readonly issues: readonly ResponseIssue[],
  ) {
    const shown = issues.slice(0, 3).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
    super(`Mackerel API ${method} ${path} answered an unexpected shape: ${shown.join('; ')}${more}`);
  }
}

/** No answer at all: connection failure or the per-request timeout. Retried like a 5xx. */
export class MackerelNetworkError extends Error {
  override readonly name: string = 'MackerelNetworkError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly reason: string,
    readonly timedOut: boolean,
  ) {
    super(`Mackerel API ${method} ${path} failed: ${reason}`);
  }
}

/** The client was built with options it must refuse (no key, plain http to a remote host, …). */
export class MackerelConfigError extends Error {
  override readonly name = 'MackerelConfigError';
}

/** The host list is read as a stream (see `host-stream.ts`); its own errors name this request. */
export const HOST_LIST_PATH = '/api/v0/hosts';

/** Ways the `{"hosts": [...]}` envelope can be wrong; each fails the whole list (never retried). */
export type EnvelopeProblem = 'not-json' | 'not-object' | 'hosts-missing' | 'hosts-not-array' | 'hosts-repeated';

/** The host list's envelope is wrong: no host in it can be trusted, so the run must stop before any write. */
export class HostListEnvelopeError extends MackerelResponseError {
  override readonly name: string = 'HostListEnvelopeError';
  constructor(
    readonly problem: EnvelopeProblem,
    /** e.g. `hosts` or `hosts.3`; empty for the body itself */
    where: string,
    message: string,
  ) {
    super('GET', HOST_LIST_PATH, [{ path: where, message }]);
  }
}

/** The host list ended (or the connection broke) before its closing brace: a network fault, retried. */
export class HostListTruncatedError extends MackerelNetworkError {
  override readonly name: string = 'HostListTruncatedError';
  constructor(
    /** body bytes received before the end */
    readonly bytes: number,
    reason: string,
  ) {
    super('GET', HOST_LIST_PATH, `host list truncated after ${formatBytes(bytes)}: ${reason}`, false);
  }
}

/** Which time bound of the host list was hit. */
export type HostListBound = 'first-byte' | 'idle' | 'deadline';

/** A time bound of the host list was hit; the exchange was aborted. */
export abstract class HostListTimeoutError extends MackerelNetworkError {
  abstract readonly bound: HostListBound;
  constructor(
    /** the bound in ms (for `deadline`, the time spent when it was hit) */
    readonly limitMs: number,
    /** body bytes received before it was hit */
    readonly bytes: number,
    reason: string,
  ) {
    super('GET', HOST_LIST_PATH, reason, true);
  }
}

/** No response headers within the time-to-first-byte bound. Retried. */
export class HostListFirstByteTimeoutError extends HostListTimeoutError {
  override readonly name: string = 'HostListFirstByteTimeoutError';
  readonly bound = 'first-byte';
  constructor(limitMs: number) {
    super(limitMs, 0, `host list: no response within ${limitMs} ms (time to first byte)`);
  }
}

/** The body stopped arriving for longer than the idle bound. Retried when there is time for another attempt. */
export class HostListStalledError extends HostListTimeoutError {
  override readonly name: string = 'HostListStalledError';
  readonly bound = 'idle';
  constructor(limitMs: number, bytes: number) {
    super(limitMs, bytes, `host list stalled: no data for ${limitMs} ms after ${formatBytes(bytes)}`);
  }
}

/** The run's deadline for reading the host list passed. Never retried: there is no time left. */
export class HostListDeadlineError extends HostListTimeoutError {
  override readonly name: string = 'HostListDeadlineError';
  readonly bound = 'deadline';
  constructor(elapsedMs: number, bytes: number) {
    super(
      elapsedMs,
      bytes,
      `host list missed the run's deadline: ${formatBytes(bytes)} read in ${elapsedMs} ms`,
    );
  }
}

/** 1234567 → "1.2 MB": sizes in messages a person reads. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
