/**
 * Observe: read Mackerel, EC2 and the store into one validated Observation. Reading only: this account's
 * sightings (ownership) are applied to the records in memory, and the executor stores them together with
 * its claims; what to change is the planner's business.
 */

import type { Instance } from '../ec2/instance.js';
import type { Ec2Inventory } from '../ec2/inventory.js';
import type { MackerelClient } from '../mackerel/client.js';
import { type InstanceState, nextRecord, type Sighting, type StateStore } from '../state/store.js';
import { duplicateCandidates, hasIgnoreTag, type LinkInput } from './plan.js';
import { notify, type OnProgress, reported } from './progress.js';
import type { InstanceRecord, Observation, RegionStatus } from './types.js';

export interface ObserveDeps {
  mackerel: MackerelClient;
  inventory: Ec2Inventory;
  store: StateStore;
  accountId: string;
  /** told what has been read so far (a command line's progress line); optional */
  onProgress?: OnProgress;
}

export interface ObserveOptions {
  now: number;
  /** epoch ms by which the host list must have been read (see `ListHostsOptions.deadline`) */
  hostListDeadline?: number;
}

/** The observation, and the state as it was read (the executor's writes are conditional on it). */
export interface Observed {
  observation: Observation;
  stored: InstanceState;
}

const toSighting = (i: Instance, accountId: string, stateTime: number): Sighting => ({
  instanceId: i.instanceId,
  region: i.region,
  accountId,
  state: i.state,
  stateTime,
  ignored: hasIgnoreTag(i.tags),
  privateDnsName: i.privateDnsName || undefined,
  privateIpAddress: i.privateIpAddress || undefined,
  launchTime: i.launchTime,
});

/** The records after these sightings; a record that changed is a new object (what the executor stores). */
function applySightings(sightings: readonly Sighting[], state: InstanceState, now: number): InstanceRecord[] {
  const nowS = Math.floor(now / 1000);
  const byId = new Map(state.records.map((r) => [r.instanceId, r]));
  for (const s of sightings) {
    const next = nextRecord(s, byId.get(s.instanceId), nowS);
    if (next) byId.set(s.instanceId, next);
  }
  return [...byId.values()];
}

async function withMetrics(deps: ObserveDeps, input: LinkInput): Promise<Observation> {
  const candidates = duplicateCandidates(input);
  const latestMetricTime: Record<string, number> = {};
  if (candidates.length > 0) {
    notify(deps.onProgress, { step: 'metrics', hosts: candidates.length });
    const latest = await deps.mackerel.latestMetrics(candidates, ['loadavg5']);
    for (const [hostId, metrics] of Object.entries(latest)) {
      const t = metrics.loadavg5?.time;
      if (t !== undefined) latestMetricTime[hostId] = t;
    }
  }
  return { ...input, latestMetricTime };
}

function readHosts(deps: ObserveDeps, opts: ObserveOptions) {
  const list = deps.mackerel.listHosts(undefined, { deadline: opts.hostListDeadline });
  return reported(list, deps.onProgress, (l) => ({ step: 'hosts', hosts: l.hosts.length }));
}

/** The sweep: every host, every instance of every region, everything the store knows. */
export async function observeFleet(
  deps: ObserveDeps,
  regions: readonly string[],
  opts: ObserveOptions,
): Promise<Observed> {
  const { now } = opts;
  const nowS = Math.floor(now / 1000);
  const [{ hosts }, inventories, state] = await Promise.all([
    readHosts(deps, opts),
    deps.inventory.listRegions(regions, (r) => notify(deps.onProgress, { step: 'instances', ...r })),
    reported(deps.store.loadAll(nowS), deps.onProgress, (s) => ({ step: 'state', records: s.records.length })),
  ]);
  const instances = inventories.flatMap((r) => (r.ok ? r.instances : []));
  const regionStatus: RegionStatus[] = inventories.map((r) =>
    r.ok
      ? { region: r.region, ok: true, instanceCount: r.instances.length }
      : { region: r.region, ok: false, instanceCount: 0, error: r.error },
  );
  const records = applySightings(
    instances.map((i) => toSighting(i, deps.accountId, nowS)),
    state,
    now,
  );
  const observation = await withMetrics(deps, {
    now,
    mode: 'fleet',
    regions: regionStatus,
    hosts,
    instances,
    notFound: [],
    state: { ...state, records },
  });
  return { observation, stored: state };
}

export interface Target {
  instanceId: string;
  /** where to look; when unknown, the stored record's region, else every configured region */
  region?: string;
  /** what a state-change event from this account said: proof of ownership even if EC2 forgot it */
  eventState?: Instance['state'];
  eventTime?: number;
}

/** Given instances only (an event or a replay): a targeted DescribeInstances and one host list. */
export async function observeInstances(
  deps: ObserveDeps,
  targets: readonly Target[],
  regions: readonly string[],
  opts: ObserveOptions,
  loaded?: InstanceState,
): Promise<Observed> {
  const { now } = opts;
  const nowS = Math.floor(now / 1000);
  const ids = [...new Set(targets.map((t) => t.instanceId))];
  const state = loaded ?? (await deps.store.loadInstances(ids, nowS));
  const recorded = new Map(state.records.map((r) => [r.instanceId, r]));
  const byRegion = new Map<string, string[]>();
  for (const t of targets) {
    const where = t.region ?? recorded.get(t.instanceId)?.region;
    for (const region of where ? [where] : regions) {
      const ids = byRegion.get(region);
      if (!ids) byRegion.set(region, [t.instanceId]);
      else if (!ids.includes(t.instanceId)) ids.push(t.instanceId);
    }
  }
  const [{ hosts }, described] = await Promise.all([
    readHosts(deps, opts),
    Promise.all(
      [...byRegion].map(async ([region, regionIds]) => {
        try {
          const res = await deps.inventory.describe(region, regionIds);
          notify(deps.onProgress, { step: 'instances', region, pages: 1, instances: res.found.length, done: true });
          return { region, ok: true as const, ...res };
        } catch (e) {
          const error = (e as Error).message;
          notify(deps.onProgress, { step: 'instances', region, pages: 1, instances: 0, done: true, error });
          return { region, ok: false as const, error, ids: regionIds };
        }
      }),
    ),
  ]);
  const instances = described.flatMap((d) => (d.ok ? d.found : []));
  const found = new Set(instances.map((i) => i.instanceId));
  // Only an id that every region we asked denied is gone; an id in a failed region stays unknown.
  const failedIds = new Set(described.flatMap((d) => (d.ok ? [] : d.ids)));
  const notFound = ids.filter(
    (id) => !found.has(id) && !failedIds.has(id) && described.some((d) => d.ok && d.notFound.includes(id)),
  );

  const sightings: Sighting[] = instances.map((i) => toSighting(i, deps.accountId, nowS));
  for (const t of targets) {
    // An event from this account proves ownership even when EC2 no longer returns the instance.
    if (!found.has(t.instanceId) && t.eventState && t.region && !recorded.has(t.instanceId)) {
      sightings.push({
        instanceId: t.instanceId,
        region: t.region,
        accountId: deps.accountId,
        state: notFound.includes(t.instanceId) ? 'terminated' : t.eventState,
        stateTime: t.eventTime ?? nowS,
        ignored: false,
      });
    }
  }
  const records = applySightings(sightings, state, now);
  const observation = await withMetrics(deps, {
    now,
    mode: 'instances',
    targetIds: ids,
    regions: described.map((d) =>
      d.ok
        ? { region: d.region, ok: true, instanceCount: d.found.length }
        : { region: d.region, ok: false, instanceCount: 0, error: d.error },
    ),
    hosts,
    instances,
    notFound,
    state: { ...state, records },
  });
  return { observation, stored: state };
}
