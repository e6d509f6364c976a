/**
 * What a sighting does to an instance record: pure rules, shared by observe (which applies this run's sightings
 * in memory) and every ledger (which re-applies them on top of what another run wrote meanwhile).
 */
import type { InstanceState } from './model.js';
import type { InstanceRecord } from './types.js';

/** One look at an instance: DescribeInstances returning it, or a state-change event. */
export interface Sighting {
  instanceId: string;
  region: string;
  accountId: string;
  state: InstanceState;
  /** epoch seconds the state is known as of */
  stateTime: number;
  ignored: boolean;
  privateDnsName?: string;
  privateIpAddress?: string;
  launchTime?: number;
  /** set when the sighting is DescribeInstances returning the instance (the evidence a later miss means gone) */
  describedAt?: number;
}

/** Up, down or ended: what the planner acts on. stopping→stopped is one stop, pending→running one start. */
export const phaseOf = (s: InstanceState) =>
  s === 'pending' || s === 'running' ? 'up' : s === 'stopping' || s === 'stopped' ? 'down' : 'ended';

/**
 * The record a sighting leads to, or undefined when nothing changed (a steady fleet costs no write).
 * A state change that starts a new phase bumps the version (each stop/start cycle keys its actions once);
 * a sighting older than the state already known changes no state.
 */
export function nextRecord(
  s: Sighting,
  existing: InstanceRecord | undefined,
  nowS: number,
): InstanceRecord | undefined {
  const describedAt = existing?.describedAt ?? s.describedAt;
  if (!existing) return { ...s, version: 1, firstSeenAt: nowS, lastSeenAt: nowS, linkedHostIds: [], describedAt };
  const changedState = existing.state !== s.state && s.stateTime >= existing.stateTime;
  const changedFacts =
    existing.ignored !== s.ignored ||
    (s.privateDnsName !== undefined && existing.privateDnsName !== s.privateDnsName) ||
    (s.privateIpAddress !== undefined && existing.privateIpAddress !== s.privateIpAddress) ||
    (s.launchTime !== undefined && existing.launchTime !== s.launchTime) ||
    describedAt !== existing.describedAt;
  if (!changedState && !changedFacts) return undefined;
  return {
    ...existing,
    state: changedState ? s.state : existing.state,
    stateTime: changedState ? s.stateTime : existing.stateTime,
    version:
      changedState && phaseOf(s.state) !== phaseOf(existing.state) ? existing.version + 1 : existing.version,
    ignored: s.ignored,
    privateDnsName: s.privateDnsName ?? existing.privateDnsName,
    privateIpAddress: s.privateIpAddress ?? existing.privateIpAddress,
    launchTime: s.launchTime ?? existing.launchTime,
    lastSeenAt: nowS,
    describedAt,
  };
}

/**
 * The same change applied on top of a record another run wrote meanwhile: `next` was computed from `base`,
 * `current` is what is stored now. Undefined when the change no longer changes anything.
 */
export function rebase(
  next: InstanceRecord,
  base: InstanceRecord | undefined,
  current: InstanceRecord | undefined,
): InstanceRecord | undefined {
  const sighted = nextRecord(next, current, next.lastSeenAt);
  const changed = sighted ?? current;
  if (!changed) return undefined;
  const linksChanged = !sameSet(next.linkedHostIds, base?.linkedHostIds ?? []);
  const goneChanged = next.goneAt !== undefined && base?.goneAt === undefined;
  if (!sighted && !linksChanged && !goneChanged) return undefined;
  return {
    ...changed,
    linkedHostIds: linksChanged ? next.linkedHostIds : changed.linkedHostIds,
    goneAt: goneChanged ? next.goneAt : changed.goneAt,
  };
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
