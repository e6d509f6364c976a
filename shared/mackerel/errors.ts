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
  override readonly name = 'MackerelResponseError';
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
  override readonly name = 'MackerelNetworkError';
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
