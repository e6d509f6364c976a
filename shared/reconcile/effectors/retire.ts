/**
 * Retirements. Never retire a host linked to a running instance: EC2 is asked again right before the bulk
 * retire (one DescribeInstances per region), and an instance found alive again holds its hosts back (`blocked`).
 * The adapter cuts batches of 30, and a failed batch fails alone.
 */
import { asError, RecheckBlocked } from '../../errors.js';
import { groupBy } from '../../util/concurrency.js';
import type { RetireAction } from '../types.js';
import { type EffectContext, effector, fromBulk, type Settled } from './effector.js';

/**
 * No second look for duplicate merges (their instance is running and keeps its canonical host) nor for
 * instances EC2 answered `terminated` for in this run: termination is final and instance ids are never reused.
 */
const needsNoRecheck = (a: RetireAction, terminated: ReadonlySet<string>) =>
  a.retireReason === 'duplicate-stale' ||
  // An ECS task is not an instance: STOPPED is final, a task ARN is never reused (tasks.ts decides MISSING).
  a.retireReason === 'task-stopped' ||
  a.retireReason === 'task-missing' || (a.retireReason === 'instance-terminated' && terminated.has(a.instanceId));

/** The retirements EC2 still agrees with, and the ones held back. */
async function recheck(actions: readonly RetireAction[], ctx: EffectContext) {
  const cleared = actions.filter((a) => needsNoRecheck(a, ctx.terminated));
  const blocked: Settled<RetireAction>[] = [];
  const byRegion = groupBy(
    actions.filter((a) => !needsNoRecheck(a, ctx.terminated)),
    (a) => a.region ?? '',
  );
  for (const [region, group] of byRegion) {
    try {
      const { found } = await ctx.fleet.describe(region, [...new Set(group.map((a) => a.instanceId))]);
      const alive = new Map(found.filter((i) => i.state !== 'terminated').map((i) => [i.instanceId, i.state]));
      for (const action of group) {
        const state = alive.get(action.instanceId);
        if (state === undefined) cleared.push(action);
        else blocked.push({ action, outcome: 'blocked', error: new RecheckBlocked(`instance ${action.instanceId} is ${state} again`) });
      }
    } catch (e) {
      const error = new RecheckBlocked(`re-check of ${region} failed: ${asError(e).message}`, { cause: e });
      blocked.push(...group.map((action) => ({ action, outcome: 'blocked' as const, error })));
    }
  }
  return { cleared, blocked };
}

export const retire = effector<RetireAction>({
  kind: 'retire',
  async perform(batch, ctx) {
    const { cleared, blocked } = await recheck(batch, ctx);
    if (cleared.length === 0) return blocked;
    try {
      const res = await ctx.hosts.retireHosts(cleared.map((a) => a.hostId));
      return [...blocked, ...fromBulk(cleared, (a) => a.hostId, res)];
    } catch (e) {
      const error = asError(e);
      return [...blocked, ...cleared.map((action) => ({ action, outcome: 'failed' as const, error }))];
    }
  },
  describe: (a) => ({ hostId: a.hostId, detail: { hostName: a.hostName, retireReason: a.retireReason } }),
});
