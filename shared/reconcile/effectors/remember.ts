/**
 * State-only: a notice published once (its findings, after it is done) and the instance memo that says so (a
 * retirement while running, per phase; an agent repair's result). Claimed in the ledger, so concurrent runs
 * publish it once; nothing is called.
 */
import type { RememberAction } from '../types.js';
import { done, effector } from './effector.js';

export const remember = effector<RememberAction>({
  kind: 'remember',
  perform: async (batch) => done(batch),
  describe: (a) => ({ detail: { memo: a.memo.name, status: a.memo.status, ...(a.memo.ref ? { ref: a.memo.ref } : {}) } }),
  commit(a, into) {
    into.checks.push({ instanceId: a.instanceId, ...a.memo });
  },
});
