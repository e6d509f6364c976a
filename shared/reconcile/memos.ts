/**
 * Memo housekeeping: restore and check memos are forgotten when they can mean nothing any more, so that a
 * converged fleet plans nothing and the ledger does not grow.
 */
import { forgetAction, isRetire } from './actions.js';
import { INSTANCE_MEMOS } from './health-rules.js';
import type { Host } from './model.js';
import type { Action, ForgetMemoAction, StoredState } from './types.js';

type InScope = (m: { instanceId: string }) => boolean;

/** Memos about hosts that no longer exist (retired by anyone) mean nothing any more. */
export function forgetOrphanMemos(
  state: StoredState,
  liveHosts: ReadonlyMap<string, Host>,
  inScope: InScope,
): ForgetMemoAction[] {
  const orphan = (m: { instanceId: string; hostId: string }) => inScope(m) && !liveHosts.has(m.hostId);
  return [
    ...state.restores.filter(orphan).map((m) => forgetAction(m.instanceId, m.hostId, 'restore')),
    // An instance memo (agent repair, retired while running) is about no host: it lives as long as the instance.
    ...state.checks.filter((m) => orphan(m) && !INSTANCE_MEMOS.has(m.name)).map((m) => forgetAction(m.instanceId, m.hostId, m.name)),
  ];
}

/**
 * A host retired by this plan takes its memos along once the retirement is done: the next run has nothing to
 * forget. Memos a rule already forgets are not forgotten twice.
 */
export function forgetWithRetirements(actions: readonly Action[], state: StoredState, inScope: InScope): ForgetMemoAction[] {
  const retiring = new Map(actions.filter(isRetire).map((a) => [a.hostId, a.key]));
  const planned = new Set(actions.map((a) => a.key));
  const memos = [
    ...state.restores.map((m) => ({ ...m, memo: 'restore' as const })),
    ...state.checks.map((m) => ({ ...m, memo: m.name })),
  ];
  const out: ForgetMemoAction[] = [];
  for (const m of memos.filter(inScope)) {
    const dependsOn = retiring.get(m.hostId);
    if (!dependsOn) continue;
    const f = forgetAction(m.instanceId, m.hostId, m.memo, { dependsOn });
    if (!planned.has(f.key)) out.push(f);
    planned.add(f.key);
  }
  return out;
}
