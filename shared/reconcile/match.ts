/**
 * Linking hosts to instances, in the order docs/design.md fixes:
 * customIdentifier, then meta.cloud instance-id, then (only for hosts with neither) the weak private DNS / IP
 * match, which must also have been created after the instance launched. Private addresses are reused, so a weak
 * match that qualifies for several instances prefers the running one and otherwise links nothing.
 */
import { isContainerHost } from './container-host.js';
import type { Host } from './model.js';
import type { Ambiguity, Link, LinkStrength } from './types.js';

/** The fields of an instance matching needs; a stored record of a vanished instance has them too. */
export interface MatchableInstance {
  instanceId: string;
  state: string;
  privateDnsName?: string;
  privateIpAddress?: string;
  /** epoch milliseconds */
  launchTime?: number;
}

const CI_SUFFIX = '.ec2.amazonaws.com';
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** The instance a host names itself (strong link), whether or not this account knows that instance. */
export function strongInstanceId(host: Host): { instanceId: string; strength: LinkStrength } | undefined {
  const ci = host.customIdentifier?.trim().toLowerCase();
  if (ci?.endsWith(CI_SUFFIX)) {
    const id = ci.slice(0, -CI_SUFFIX.length);
    if (INSTANCE_ID.test(id)) return { instanceId: id, strength: 'custom-identifier' };
  }
  const cloud = host.meta.cloud;
  if (cloud?.provider === 'ec2') {
    const id = cloud.metadata?.['instance-id'];
    if (typeof id === 'string' && INSTANCE_ID.test(id.toLowerCase())) {
      return { instanceId: id.toLowerCase(), strength: 'cloud-meta' };
    }
  }
  return undefined;
}

function hostIpv4s(host: Host): Set<string> {
  const ips = new Set<string>();
  for (const itf of host.interfaces ?? []) {
    if (itf.ipAddress) ips.add(itf.ipAddress);
    for (const ip of itf.ipv4Addresses ?? []) ips.add(ip.split('/')[0] ?? ip);
  }
  return ips;
}

function weakQualifies(host: Host, ips: Set<string>, inst: MatchableInstance): boolean {
  if (inst.launchTime !== undefined && host.createdAt * 1000 < inst.launchTime) return false;
  const dns = inst.privateDnsName?.toLowerCase();
  const name = host.name.toLowerCase();
  if (dns && (name === dns || name === dns.split('.')[0])) return true;
  return inst.privateIpAddress !== undefined && ips.has(inst.privateIpAddress);
}

export interface MatchResult {
  links: Link[];
  /** strongly linked to an instance id this account has never seen */
  foreign: string[];
  ambiguities: Ambiguity[];
}

/**
 * @param known instances this account has seen (live inventory plus stored records), by id
 * @param weakAllowed restricts weak links (the event path only trusts weak links a full sweep recorded)
 */
export function matchHosts(
  hosts: readonly Host[],
  known: ReadonlyMap<string, MatchableInstance>,
  weakAllowed: (hostId: string, instanceId: string) => boolean = () => true,
): MatchResult {
  const links: Link[] = [];
  const foreign: string[] = [];
  const ambiguities: Ambiguity[] = [];
  const byDns = new Map<string, MatchableInstance[]>();
  const byIp = new Map<string, MatchableInstance[]>();
  const add = (m: Map<string, MatchableInstance[]>, k: string | undefined, v: MatchableInstance) => {
    if (!k) return;
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const inst of known.values()) {
    const dns = inst.privateDnsName?.toLowerCase();
    add(byDns, dns, inst);
    if (dns?.includes('.')) add(byDns, dns.split('.')[0], inst);
    add(byIp, inst.privateIpAddress, inst);
  }

  for (const host of hosts) {
    if (host.isRetired) continue;
    const strong = strongInstanceId(host);
    if (strong) {
      if (known.has(strong.instanceId)) links.push({ hostId: host.id, ...strong });
      else foreign.push(host.id);
      continue;
    }
    // A container host belongs to its ECS task (tasks.ts), never weakly to the instance it ran on.
    if (isContainerHost(host)) continue;
    const ips = hostIpv4s(host);
    const candidates = new Map<string, MatchableInstance>();
    for (const inst of byDns.get(host.name.toLowerCase()) ?? []) candidates.set(inst.instanceId, inst);
    for (const ip of ips) for (const inst of byIp.get(ip) ?? []) candidates.set(inst.instanceId, inst);
    const qualified = [...candidates.values()].filter(
      (inst) => weakQualifies(host, ips, inst) && weakAllowed(host.id, inst.instanceId),
    );
    if (qualified.length === 0) continue;
    let chosen = qualified;
    if (chosen.length > 1) chosen = chosen.filter((i) => i.state === 'running');
    if (chosen.length === 1 && chosen[0]) {
      links.push({ hostId: host.id, instanceId: chosen[0].instanceId, strength: 'weak' });
    } else {
      ambiguities.push({ hostId: host.id, candidates: qualified.map((i) => i.instanceId).sort() });
    }
  }
  return { links, foreign, ambiguities };
}
