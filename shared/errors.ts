/**
 * The reconciler's own errors. Each names what went wrong in its class (the report keeps the name as
 * `errorName` beside the message) and keeps what caused it as `cause`, so nothing is flattened to text on the
 * way. The Mackerel client has its own family (`shared/mackerel/errors.ts`), raised where HTTP is spoken.
 * Names are literals: the deployed bundle is minified, so a class's own name would not survive.
 */

export class ReconcileError extends Error {
  override name = 'ReconcileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An EC2 call failed, or answered something the reconciler cannot trust. */
export class Ec2Error extends ReconcileError {
  override name = 'Ec2Error';
}

/** The ledger could not record what a run claimed or did (e.g. the item kept changing under other writers). */
export class LedgerError extends ReconcileError {
  override name = 'LedgerError';
}

/** A retirement held back by its re-check: the instance runs again, or EC2 could not be asked. */
export class RecheckBlocked extends ReconcileError {
  override name = 'RecheckBlocked';
}

/** An action waiting for another one of the same plan that is not done yet. */
export class DependencyPending extends ReconcileError {
  override name = 'DependencyPending';
  constructor(readonly waitingFor: string) {
    super(`waiting for ${waitingFor}`);
  }
}

/** Test hook: a Lambda dying after its claims and before the side effects. */
export class SimulatedCrash extends ReconcileError {
  override name = 'SimulatedCrash';
}

/** Whatever was thrown, as an Error. */
export const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** The message and the class name of whatever was thrown. */
export function describeError(e: unknown): { error: string; errorName: string } {
  if (e instanceof Error) return { error: e.message, errorName: e.name };
  return { error: String(e), errorName: 'Error' };
}

/**
 * Text from outside (a payload key, a value, a response) cut to `max` characters, so a megabyte of input is
 * never echoed whole into a message or a log line. Says how much was left out.
 */
export function clipText(text: string, max = 200): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${(text.length - max).toLocaleString('en-US')} more characters)`;
}
