/**
 * Ownership, effective state and links: which instances this account owns, what state each is in now (or
 * `gone`), and which hosts belong to each. Observe needs it too (duplicate candidates decide which metrics
 * to read), so it stands apart from the rules that act on it.
 */
import { groupBy } from '../util/concurrency.js';
import { type MatchableInstance, matchHosts } from './match.js';
import type { Instance } from './model.js';
import type { EffectiveState, InstanceRecord, Observation } from './types.js';

export const IGNORE_TAG = 'mackerel-reconciler:ignore';

/** The opt-out tag: `mackerel-reconciler:ignore = true` (any case, surrounding spaces allowed). */
export const hasIgnoreTag = (tags: Record<string, string>) => (tags[IGNORE_TAG] ?? '').trim().toLowerCase() === 'true';

export function isIgnored(inst: Instance | undefined, record: InstanceRecord | undefined): boolean {
  if (inst) return hasIgnoreTag(inst.tags);
  return record?.ignored ?? false;
}

/** What linking needs of an observation; metrics are fetched after it, for duplicate candidates only. */
export type LinkInput = Omit<Observation, 'latestMetricTime'>;

/** Ownership, effective state and host links: the part of planning that observe also needs. */
export function linkFleet(obs: LinkInput) {
  const live = new Map(obs.instances.map((i) => [i.instanceId, i]));
  const records = new Map(obs.state.records.map((r) => [r.instanceId, r]));
  const regionOk = new Map(obs.regions.map((r) => [r.region, r]));
  const notFound = new Set(obs.notFound);
  const targets = new Set(obs.targetIds ?? []);
  const inScope = (id: string) => obs.mode === 'fleet' || targets.has(id);

  const effective = (id: string): EffectiveState | undefined => {
    const inst = live.get(id);
    if (inst) return inst.state;
    const rec = records.get(id);
    // Gone needs evidence: EC2 showed us the instance before (right after launch it may answer NotFound).
    if (rec?.describedAt === undefined) return undefined;
    if (obs.mode === 'instances') return notFound.has(id) ? 'gone' : undefined;
    // A failed or empty inventory is not "everything terminated".
    const region = regionOk.get(rec.region);
    return region?.ok && region.instanceCount > 0 ? 'gone' : undefined;
  };

  // Ownership: an instance is ours when DescribeInstances returns it now or the store remembers a sighting.
  const known = new Map<string, MatchableInstance>();
  for (const r of records.values()) {
    // A vanished instance runs no more, whatever its record says: it must not win a reused address.
    known.set(r.instanceId, effective(r.instanceId) === 'gone' ? { ...r, state: 'gone' } : r);
  }
  for (const i of live.values()) {
    // EC2 drops a terminated instance's private DNS name and IP: the recorded ones still tie its agent host to it.
    const r = records.get(i.instanceId);
    known.set(i.instanceId, {
      ...i,
      privateDnsName: i.privateDnsName ?? r?.privateDnsName,
      privateIpAddress: i.privateIpAddress ?? r?.privateIpAddress,
    });
  }

  const weakAllowed =
    obs.mode === 'fleet'
      ? undefined
      : // One instance alone cannot settle a reused address: trust only weak links a full sweep recorded.
        (hostId: string, instanceId: string) =>
          records.get(instanceId)?.linkedHostIds.includes(hostId) ?? false;
  const match = matchHosts(obs.hosts, known, weakAllowed);
  const linksByInstance = groupBy(match.links, (l) => l.instanceId);
  return { live, records, known, inScope, effective, match, linksByInstance };
}

/** Hosts whose last metric decides a duplicate merge: the members of running instances' multi-host groups. */
export function duplicateCandidates(obs: LinkInput, linked: ReturnType<typeof linkFleet> = linkFleet(obs)): string[] {
  const { live, inScope, linksByInstance } = linked;
  const out: string[] = [];
  for (const [instanceId, links] of linksByInstance) {
    if (links.length >= 2 && inScope(instanceId) && live.get(instanceId)?.state === 'running') {
      out.push(...links.filter((l) => l.strength !== 'custom-identifier').map((l) => l.hostId));
    }
  }
  return out.sort();
}
