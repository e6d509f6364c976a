/**
 * State-only housekeeping: a memo that no longer means anything goes with the run's completions. Nothing is
 * claimed or called; one that waits for a retirement goes only once that is done (the executor's gate).
 */
import type { ForgetMemoAction } from '../types.js';
import { done, effector } from './effector.js';

export const forgetMemo = effector<ForgetMemoAction>({
  kind: 'forget-memo',
  ledgered: false,
  perform: async (batch) => done(batch),
  describe: (a) => ({ hostId: a.hostId, detail: { memo: a.memo } }),
  commit(a, into) {
    if (a.memo === 'restore') into.forgetRestores.push(a.hostId);
    else into.forgetChecks.push({ name: a.memo, hostId: a.hostId });
  },
});
