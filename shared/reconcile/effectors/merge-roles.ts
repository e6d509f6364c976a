/** Adds the duplicates' roles to the canonical host: one PUT per host (the API replaces the role set). */
import type { MergeRolesAction } from '../types.js';
import { perAction } from './effector.js';

export const mergeRoles = perAction<MergeRolesAction>({
  kind: 'merge-roles',
  concurrency: 8,
  call: (a, ctx) => ctx.hosts.updateRoleFullnames(a.hostId, a.roleFullnames),
  describe: (a) => ({ hostId: a.hostId, detail: { roleFullnames: a.roleFullnames } }),
});
