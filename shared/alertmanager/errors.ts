/** Typed errors of the Alertmanager client. None of them ever carries the credentials. */

/** Alertmanager answered with a non-2xx status. */
export class AlertmanagerApiError extends Error {
  override readonly name = 'AlertmanagerApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly apiMessage: string,
  ) {
    super(`Alertmanager API ${method} ${path} answered ${status}: ${apiMessage}`);
  }
}

/** A 2xx body that is not JSON or not of the documented shape; `field` names where. Never retried. */
export class AlertmanagerResponseError extends Error {
  override readonly name = 'AlertmanagerResponseError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Alertmanager API ${method} ${path} answered an unexpected shape: ${field || 'body'}: ${problem}`);
  }
}

/** No answer: connection failure or the per-request timeout. Retried like a 5xx. */
export class AlertmanagerNetworkError extends Error {
  override readonly name = 'AlertmanagerNetworkError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Alertmanager API ${method} ${path} failed: ${reason}`);
  }
}

/** The client was built with options it must refuse (plain http to a remote host, an unreadable credential). */
export class AlertmanagerConfigError extends Error {
  override readonly name = 'AlertmanagerConfigError';
}
