/**
 * *Terminating*: an instance an early signal (an EC2 Spot interruption warning, an Auto Scaling
 * `EC2 Instance-terminate Lifecycle Action`) says is about to end. Its hosts are powered off at once and the
 * restore memo is marked `terminating`, so a sweep that still sees the instance running does not restore them
 * — for at most TERMINATING_HOLD_MINUTES; the termination itself then retires them as for any instance.
 * Other backends (e.g. Alertmanager silences) treat a terminating instance like a stopped one: use `isTerminating`.
 */
import type { EarlySignal } from './model.js';
import type { Policy, RestoreMemo } from './types.js';

export const DEFAULT_TERMINATING_HOLD_MINUTES = 60;

/** The memo kind other modules can match on. */
export const TERMINATING_MEMO = 'terminating' as const;

export const holdMinutesOf = (policy: Pick<Policy, 'terminatingHoldMinutes'>) =>
  policy.terminatingHoldMinutes ?? DEFAULT_TERMINATING_HOLD_MINUTES;

/** Whether a restore memo still holds its host off for an early signal at `nowS` (epoch seconds). */
export function isTerminating(
  memo: Pick<RestoreMemo, 'terminating' | 'setAt'> | undefined,
  nowS: number,
  holdMinutes: number = DEFAULT_TERMINATING_HOLD_MINUTES,
): boolean {
  return memo?.terminating === true && nowS - memo.setAt < holdMinutes * 60;
}

/** Whether any memo of an instance marks it terminating now. */
export const instanceIsTerminating = (
  memos: readonly RestoreMemo[],
  instanceId: string,
  nowS: number,
  holdMinutes?: number,
) => memos.some((m) => m.instanceId === instanceId && isTerminating(m, nowS, holdMinutes));

export const SIGNAL_REASON: Record<EarlySignal, string> = {
  'spot-interruption': 'received an EC2 Spot Instance Interruption Warning',
  'asg-terminate': 'is being terminated by its Auto Scaling group (terminate lifecycle action)',
};
