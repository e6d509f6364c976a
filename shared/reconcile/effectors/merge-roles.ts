/** Adds the duplicates' roles to the canonical host: one PUT per host (the API replaces the role set). */
import type { MergeRolesAction } from '../types.js';
import { done, type Effector, eachAlone } from './effector.js';

export const mergeRoles: Effector<MergeRolesAction> = {
  kind: 'merge-roles',
  ledgered: true,
  concurrency: 8,
  batch: eachAlone,
  async perform([a], ctx) {
    if (!a) return [];
    await ctx.hosts.updateRoleFullnames(a.hostId, a.roleFullnames);
    return done([a]);
  },
  describe: (a) => ({ hostId: a.hostId, detail: { roleFullnames: a.roleFullnames } }),
};
