/**
 * Host status changes: one bulk call per target status (the adapter cuts batches of 30, and a failed batch
 * fails alone). A poweroff remembers the previous status with its claim; a restore forgets it once done.
 */
import { groupBy } from '../../util/concurrency.js';
import type { SetStatusAction } from '../types.js';
import { effector, fromBulk } from './effector.js';

export const setStatus = effector<SetStatusAction>({
  kind: 'set-status',
  batch: (actions) => [...groupBy(actions, (a) => a.to).values()],
  async perform(batch, ctx) {
    const to = batch[0]?.to;
    if (!to) return [];
    const res = await ctx.hosts.updateHostStatuses(
      batch.map((a) => a.hostId),
      to,
    );
    return fromBulk(batch, (a) => a.hostId, res);
  },
  describe: (a) => ({ hostId: a.hostId, detail: { hostName: a.hostName, from: a.from, to: a.to } }),
  claimMemo: (a, nowS) =>
    a.remember
      ? { instanceId: a.instanceId, hostId: a.hostId, status: a.remember, setAt: nowS, ...(a.terminating ? { terminating: true } : {}) }
      : undefined,
  commit(a, into) {
    if (a.restoring) into.forgetRestores.push(a.hostId);
  },
});
