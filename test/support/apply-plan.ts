/**
 * A pure, in-memory model of executing a plan: what Mackerel, EC2 and the state store look like afterwards,
 * as the next observation would read them. Mirrors `execute` action by action, with every side effect
 * succeeding, and keys memos the way the store does (per instance partition, then host).
 */
import type { Host } from '../../shared/mackerel/schemas.js';
import type { CheckMemo, Observation, Plan, RestoreMemo } from '../../shared/reconcile/types.js';

const restoreKey = (m: { instanceId: string; hostId: string }) => `${m.instanceId}#${m.hostId}`;
const checkKey = (m: { instanceId: string; hostId: string; name: string }) =>
  `${m.instanceId}#${m.name}#${m.hostId}`;

function rolesOf(fullnames: readonly string[]): Record<string, string[]> {
  const roles: Record<string, string[]> = {};
  for (const f of fullnames) {
    const [service, role] = f.split(':') as [string, string];
    if (!(roles[service] ?? []).includes(role)) roles[service] = [...(roles[service] ?? []), role];
  }
  return roles;
}

export function applyPlan(obs: Observation, p: Plan): Observation {
  const nowS = Math.floor(obs.now / 1000);
  const hosts = new Map(obs.hosts.map((h): [string, Host] => [h.id, { ...h, roles: { ...h.roles } }]));
  const instances = obs.instances.map((i) => ({ ...i }));
  const restores = new Map(obs.state.restores.map((m): [string, RestoreMemo] => [restoreKey(m), m]));
  const checks = new Map(obs.state.checks.map((m): [string, CheckMemo] => [checkKey(m), m]));
  const retired = new Set<string>();

  for (const a of p.actions) {
    switch (a.kind) {
      case 'retire':
        retired.add(a.hostId);
        break;
      case 'set-status': {
        const h = hosts.get(a.hostId);
        if (a.remember) {
          restores.set(restoreKey(a), {
            instanceId: a.instanceId,
            hostId: a.hostId,
            status: a.remember,
            setAt: nowS,
          });
        }
        if (h) h.status = a.to;
        if (a.restoring) restores.delete(restoreKey(a));
        break;
      }
      case 'merge-roles': {
        const h = hosts.get(a.hostId);
        if (h) h.roles = rolesOf(a.roleFullnames);
        break;
      }
      case 'report-check':
        checks.set(checkKey(a), {
          instanceId: a.instanceId,
          hostId: a.hostId,
          name: a.name,
          status: a.status,
          changedAt: nowS,
        });
        break;
      case 'enable-imds':
        for (const i of instances) if (i.instanceId === a.instanceId) i.httpEndpoint = 'enabled';
        break;
      case 'forget-memo':
        if (a.memo === 'restore') restores.delete(restoreKey(a));
        else checks.delete(checkKey({ instanceId: a.instanceId, hostId: a.hostId, name: a.memo }));
        break;
    }
  }

  // What a run remembers besides its actions: the links it saw, for owned instances already recorded.
  const records = obs.state.records.map((r) => ({
    ...r,
    linkedHostIds: p.linkedHostIds.get(r.instanceId) ?? r.linkedHostIds,
  }));
  return {
    ...obs,
    // The host list never shows retired hosts.
    hosts: [...hosts.values()].filter((h) => !retired.has(h.id)),
    instances,
    state: { records, restores: [...restores.values()], checks: [...checks.values()] },
  };
}
