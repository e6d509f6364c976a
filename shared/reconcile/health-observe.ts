/**
 * Observe for the health rules (health-rules.ts), only where they need it, so a converged fleet costs nothing
 * more than the canonical hosts' entries in the batched `tsdb/latest`: recorded hosts of a running instance that
 * has none left are read by id (retired?), SSM is asked about the silent, the retired-while-running and the
 * repair candidates in one DescribeInstanceInformation per region (paged), and a repair sent earlier has its
 * result read (GetCommandInvocation, one per repair awaited).
 */
import { DEFAULT_SILENT_MINUTES, silentHost, watchedHost } from './health-rules.js';
import type { linkFleet, LinkInput } from './link.js';
import type { Host } from './model.js';
import type { HostDirectory, InstanceManager } from './ports.js';
import type { HealthObservation, Observation } from './types.js';
import { groupBy, mapLimit } from '../util/concurrency.js';

/** What observe needs of the configuration for these look-ups. */
export interface HealthSettings {
  silentMinutes?: number;
  agentRepair?: boolean;
}

type Linked = ReturnType<typeof linkFleet>;
const CONCURRENCY = 8;

/** Per running instance in scope: its live linked hosts and their links. */
function runningInstances(input: LinkInput, linked: Linked) {
  const live = new Map(input.hosts.filter((h) => !h.isRetired).map((h) => [h.id, h]));
  return [...linked.live.values()]
    .filter((i) => i.state === 'running' && linked.inScope(i.instanceId))
    .map((inst) => {
      const links = linked.linksByInstance.get(inst.instanceId) ?? [];
      return { inst, links, hosts: links.flatMap((l) => live.get(l.hostId) ?? []) };
    });
}

/** The canonical agent hosts of running instances up long enough: their loadavg5 tells silence (same batch). */
export function silenceCandidates(input: LinkInput, linked: Linked): string[] {
  const nowS = Math.floor(input.now / 1000);
  return runningInstances(input, linked).flatMap(({ inst, hosts, links }) => watchedHost(inst, hosts, links, nowS)?.id ?? []);
}

/** Running instances with no live host whose recorded hosts all read back retired. */
async function retiredWhileRunning(hosts: HostDirectory, input: LinkInput, linked: Linked): Promise<Record<string, string[]>> {
  const known = new Map(input.hosts.map((h) => [h.id, h]));
  const suspects = runningInstances(input, linked).filter(
    ({ inst, hosts: live }) => live.length === 0 && (linked.records.get(inst.instanceId)?.linkedHostIds.length ?? 0) > 0,
  );
  const wanted = suspects.flatMap(({ inst }) => linked.records.get(inst.instanceId)?.linkedHostIds ?? []);
  // The host list leaves retired hosts out; GET /hosts/<id> shows them with isRetired (the event path read them already).
  const missing = [...new Set(wanted.filter((id) => !known.has(id)))];
  const read = await mapLimit(missing, CONCURRENCY, (id) => hosts.lookupHost(id).catch(() => ({ hosts: [] as Host[] })));
  for (const l of read) for (const h of l.hosts) known.set(h.id, h);
  const out: Record<string, string[]> = {};
  for (const { inst } of suspects) {
    const ids = linked.records.get(inst.instanceId)?.linkedHostIds ?? [];
    if (ids.every((id) => known.get(id)?.isRetired === true)) out[inst.instanceId] = [...ids].sort();
  }
  return out;
}

/** Repairs sent earlier whose result is still to be read: one GetCommandInvocation each. */
async function awaitedResults(agents: InstanceManager, obs: Observation, linked: Linked) {
  const pending = obs.state.checks.filter(
    (m) => m.name === 'agent-repair' && m.status === 'UNKNOWN' && m.ref && linked.inScope(m.instanceId),
  );
  const results = await mapLimit(pending, CONCURRENCY, async (m) => {
    const region = linked.live.get(m.instanceId)?.region ?? linked.records.get(m.instanceId)?.region;
    if (!region || !m.ref) return undefined;
    return agents.commandResult(region, m.ref, m.instanceId).catch(() => undefined);
  });
  return Object.fromEntries(results.flatMap((r) => (r ? [[r.instanceId, r]] : [])));
}

/** SSM's view of the instances that need it: silent ones, retired while running, duplicates still reporting. */
async function managedInstances(agents: InstanceManager, ids: readonly string[], linked: Linked) {
  const byRegion = groupBy(ids, (id) => linked.live.get(id)?.region ?? '');
  const managed: HealthObservation['managed'] = {};
  const asked: string[] = [];
  await mapLimit([...byRegion], CONCURRENCY, async ([region, regionIds]) => {
    try {
      for (const m of await agents.describeManaged(region, regionIds)) managed[m.instanceId] = m;
      asked.push(...regionIds);
    } catch {
      // SSM unreadable: the diagnosis says "SSM not read" and no repair is planned.
    }
  });
  return { managed, asked: asked.sort() };
}

export async function observeHealth(
  deps: { hosts: HostDirectory; agents?: InstanceManager; health?: HealthSettings },
  obs: Observation,
  linked: Linked,
): Promise<HealthObservation> {
  const nowS = Math.floor(obs.now / 1000);
  const minutes = deps.health?.silentMinutes ?? DEFAULT_SILENT_MINUTES;
  const retiredHostIds = await retiredWhileRunning(deps.hosts, obs, linked);
  const health: HealthObservation = { managed: {}, asked: [], commands: {}, retiredHostIds };
  if (!deps.agents) return health;
  const need = new Set(Object.keys(retiredHostIds));
  for (const { inst, hosts, links } of runningInstances(obs, linked)) {
    if (silentHost(inst, hosts, links, obs.latestMetricTime, nowS, minutes)) need.add(inst.instanceId);
    // A duplicate group whose duplicates still report: a repair candidate once warned long enough.
    else if (deps.health?.agentRepair && hosts.length >= 2 && inst.httpEndpoint === 'enabled') need.add(inst.instanceId);
  }
  const [ssm, commands] = await Promise.all([
    need.size > 0 ? managedInstances(deps.agents, [...need].sort(), linked) : { managed: {}, asked: [] },
    awaitedResults(deps.agents, obs, linked),
  ]);
  return { ...health, ...ssm, commands };
}
