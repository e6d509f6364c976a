/**
 * Observe: read the host directory, the fleet and the ledger into one validated Observation. Reading only:
 * this account's sightings (ownership) are applied to the records in memory, and the executor stores them
 * together with its claims; what to change is the planner's business.
 */
import type { HostList, Instance, UnreadableHost } from './model.js';
import { type HealthSettings, observeHealth, silenceCandidates } from './health-observe.js';
import { duplicateCandidates, hasIgnoreTag, type LinkInput, linkFleet } from './link.js';
import type { HostDirectory, HostFilter, LedgerState, Ports } from './ports.js';
import { notify, type OnProgress, reported } from './progress.js';
import { nextRecord, type Sighting } from './record.js';
import type { InstanceRecord, Observation, RegionStatus } from './types.js';
import { mapLimit } from '../util/concurrency.js';
import { observeTasks } from './observe-tasks.js';

/** Above this many filtered look-ups (about ten instances), the run reads the host list once instead. */
export const MAX_FILTERED_LOOKUPS = 30;
const LOOKUP_CONCURRENCY = 8;

export interface ObserveDeps extends Pick<Ports, 'hosts' | 'fleet' | 'ledger' | 'tasks' | 'silences' | 'agents'> {
  accountId: string;
  /** what the health look-ups need of the configuration (shared/reconcile/health-observe.ts) */
  health?: HealthSettings;
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
  stored: LedgerState;
  /** hosts (or their metric entries) of the wrong shape: left untouched, listed in the report */
  unreadableHosts: UnreadableHost[];
  /** what reading the whole host list cost, when it was read (a sweep) */
  hostList?: { hosts: number; bytes: number; durationMs: number };
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
  describedAt: stateTime,
});

/** The records after these sightings; a record that changed is a new object (what the executor stores). */
function applySightings(sightings: readonly Sighting[], state: LedgerState, now: number): InstanceRecord[] {
  const nowS = Math.floor(now / 1000);
  const byId = new Map(state.records.map((r) => [r.instanceId, r]));
  for (const s of sightings) {
    const next = nextRecord(s, byId.get(s.instanceId), nowS);
    if (next) byId.set(s.instanceId, next);
  }
  return [...byId.values()];
}

async function withMetrics(
  deps: ObserveDeps,
  input: LinkInput,
  unreadable: UnreadableHost[],
): Promise<Observation> {
  const linked = linkFleet(input);
  // Duplicates decide a merge, canonical agent hosts a silence: one tsdb/latest per 100 of them together.
  const candidates = [...new Set([...duplicateCandidates(input, linked), ...silenceCandidates(input, linked)])].sort();
  const latestMetricTime: Record<string, number> = {};
  if (candidates.length > 0) {
    notify(deps.onProgress, { step: 'metrics', hosts: candidates.length });
    const res = await deps.hosts.latestMetrics(candidates, ['loadavg5']);
    for (const [hostId, metrics] of Object.entries(res.latest)) {
      const t = metrics.loadavg5?.time;
      if (t !== undefined) latestMetricTime[hostId] = t;
    }
    // An entry we cannot read proves no silence: count the host as reporting now, so it is never retired for it.
    for (const u of res.unreadable) if (u.id) latestMetricTime[u.id] = Math.floor(input.now / 1000);
    unreadable.push(...res.unreadable);
  }
  const observed: Observation = { ...input, latestMetricTime };
  return { ...observed, health: await observeHealth(deps, observed, linked) };
}

function listAllHosts(deps: ObserveDeps, opts: ObserveOptions) {
  const list = deps.hosts.listHosts(undefined, { deadline: opts.hostListDeadline });
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
  const [list, inventories, state, alertmanager] = await Promise.all([
    listAllHosts(deps, opts),
    deps.fleet.listRegions(regions, (r) => notify(deps.onProgress, { step: 'instances', ...r })),
    reported(deps.ledger.loadAll(nowS), deps.onProgress, (s) => ({ step: 'state', records: s.records.length })),
    deps.silences?.view(),
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
  const unreadableHosts = [...list.unreadable];
  const tasks = await observeTasks(deps.tasks, list.hosts, { accountId: deps.accountId, regions, mode: 'fleet' });
  const observation = await withMetrics(
    deps,
    { now, mode: 'fleet', regions: regionStatus, hosts: list.hosts, instances, notFound: [], state: { ...state, records }, tasks },
    unreadableHosts,
  );
  if (alertmanager) observation.alertmanager = alertmanager;
  const hostList = { hosts: list.hosts.length, bytes: list.bytes, durationMs: list.durationMs };
  return { observation, stored: state, unreadableHosts, hostList };
}

export interface Target {
  instanceId: string;
  /** where to look; when unknown, the stored record's region, else every configured region */
  region?: string;
  /** what a state-change event said; a pending/running one contradicts a NotFound, which then proves nothing */
  eventState?: Instance['state'];
}

/** DescribeInstances of the targets, grouped by the region each is looked for in. */
async function describeTargets(
  deps: ObserveDeps,
  targets: readonly Target[],
  regions: readonly string[],
  recorded: Map<string, InstanceRecord>,
) {
  const byRegion = new Map<string, string[]>();
  for (const t of targets) {
    const where = t.region ?? recorded.get(t.instanceId)?.region;
    for (const region of where ? [where] : regions) {
      const ids = byRegion.get(region);
      if (!ids) byRegion.set(region, [t.instanceId]);
      else if (!ids.includes(t.instanceId)) ids.push(t.instanceId);
    }
  }
  return Promise.all(
    [...byRegion].map(async ([region, regionIds]) => {
      try {
        const res = await deps.fleet.describe(region, regionIds);
        notify(deps.onProgress, { step: 'instances', region, pages: 1, instances: res.found.length, done: true });
        return { region, ok: true as const, ...res };
      } catch (e) {
        const error = (e as Error).message;
        notify(deps.onProgress, { step: 'instances', region, pages: 1, instances: 0, done: true, error });
        return { region, ok: false as const, error, ids: regionIds };
      }
    }),
  );
}

/**
 * The hosts that can belong to the given instances, found without listing the organisation (an event costs
 * the same with 100 hosts or 100,000): by customIdentifier, by the private DNS name and its short form (the
 * agent's hostname when it ran without IMDS), and by id for hosts a run linked earlier (cloud-meta and weak
 * links, which no filter finds).
 */
export async function findInstanceHosts(
  mackerel: HostDirectory,
  ids: readonly string[],
  instances: readonly Instance[],
  recorded: Map<string, InstanceRecord>,
  deadline?: number,
): Promise<HostList> {
  const live = new Map(instances.map((i) => [i.instanceId, i]));
  const filters: HostFilter[] = [];
  const names = new Set<string>();
  for (const id of ids) {
    filters.push({ customIdentifier: `${id}.ec2.amazonaws.com` });
    // EC2 drops a terminated instance's DNS name; the recorded one still finds its agent's host.
    const dns = live.get(id)?.privateDnsName || recorded.get(id)?.privateDnsName;
    if (!dns) continue;
    names.add(dns);
    names.add(dns.split('.')[0] as string);
  }
  for (const name of names) if (name) filters.push({ name });
  // A replay of many instances: one host list is cheaper than three look-ups each.
  if (filters.length > MAX_FILTERED_LOOKUPS) return mackerel.listHosts(undefined, { deadline });
  const lists = await mapLimit(filters, LOOKUP_CONCURRENCY, (f) => mackerel.findHosts(f, undefined, { deadline }));
  const byId = new Map<string, HostList['hosts'][number]>();
  const unreadable = new Map<string, UnreadableHost>();
  const add = (l: HostList) => {
    for (const h of l.hosts) byId.set(h.id, h);
    for (const u of l.unreadable) unreadable.set(u.id ?? u.field, u);
  };
  lists.forEach(add);
  // A recorded host a filter found, readable or not, needs no second read.
  const missing = ids
    .flatMap((id) => recorded.get(id)?.linkedHostIds ?? [])
    .filter((h) => !byId.has(h) && !unreadable.has(h));
  (await mapLimit([...new Set(missing)], LOOKUP_CONCURRENCY, (h) => mackerel.lookupHost(h))).forEach(add);
  return { hosts: [...byId.values()], unreadable: [...unreadable.values()] };
}

/**
 * Given instances only (an event or a replay): a targeted DescribeInstances and filtered host look-ups.
 * Gone needs evidence: an id is gone only when every region asked answered NotFound and DescribeInstances
 * returned it in an earlier run (the planner checks the record); an unseen NotFound id is unknown.
 */
export async function observeInstances(
  deps: ObserveDeps,
  targets: readonly Target[],
  regions: readonly string[],
  opts: ObserveOptions,
  loaded?: LedgerState,
): Promise<Observed> {
  const { now } = opts;
  const nowS = Math.floor(now / 1000);
  const ids = [...new Set(targets.map((t) => t.instanceId))];
  const state = loaded ?? (await deps.ledger.loadInstances(ids, nowS));
  const recorded = new Map(state.records.map((r) => [r.instanceId, r]));
  const described = await describeTargets(deps, targets, regions, recorded);
  const instances = described.flatMap((d) => (d.ok ? d.found : []));
  const found$ = findInstanceHosts(deps.hosts, ids, instances, recorded, opts.hostListDeadline);
  const [list, alertmanager] = await Promise.all([
    reported(found$, deps.onProgress, (h) => ({ step: 'hosts', hosts: h.hosts.length })),
    deps.silences?.view(ids),
  ]);
  const found = new Set(instances.map((i) => i.instanceId));
  // Only an id that every region we asked denied is NotFound; an id in a failed region stays unknown.
  const failedIds = new Set(described.flatMap((d) => (d.ok ? [] : d.ids)));
  const alive = new Set(
    targets.filter((t) => t.eventState === 'pending' || t.eventState === 'running').map((t) => t.instanceId),
  );
  const notFound = ids.filter(
    (id) =>
      !found.has(id) &&
      !failedIds.has(id) &&
      !alive.has(id) &&
      described.some((d) => d.ok && d.notFound.includes(id)),
  );
  const records = applySightings(
    instances.map((i) => toSighting(i, deps.accountId, nowS)),
    state,
    now,
  );
  const unreadableHosts = [...list.unreadable];
  const observation = await withMetrics(
    deps,
    {
      now,
      mode: 'instances',
      targetIds: ids,
      regions: described.map((d) =>
        d.ok
          ? { region: d.region, ok: true, instanceCount: d.found.length }
          : { region: d.region, ok: false, instanceCount: 0, error: d.error },
      ),
      hosts: list.hosts,
      instances,
      notFound,
      state: { ...state, records },
    },
    unreadableHosts,
  );
  if (alertmanager) observation.alertmanager = alertmanager;
  return { observation, stored: state, unreadableHosts };
}
