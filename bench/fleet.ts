/**
 * The benchmark fleet: one seeded, pure description of N instances and their hosts, at "day 0" (what a first
 * sweep sees) and "now" (after the drift the sweep must repair). The same description seeds the sandbox fakes
 * in process (10,000 hosts through HTTP one by one would take minutes) and builds the planner's Observation
 * directly, so the sweep, the naive loop and the planner all measure the same fleet.
 *
 * Every host carries the meta mackerel-agent really registers (sandbox/host-meta.ts, 4–6 KB of JSON a host), and a
 * few odd hosts of the kind real organisations keep sit beside the fleet, linked to nothing (`Fleet.odd`).
 *
 * Drift, as fractions of N (10,000 → 500 / 150 / 150 / 50, the numbers):
 *   terminate 5 %    running → terminated; its host must be retired
 *   stop      1.5 %  running → stopped; its host (working or standby) goes poweroff
 *   restore   1.5 %  stopped at day 0 (the first sweep powered its host off and kept a memo) → running again
 *   duplicate 0.5 %  running; mackerel-agent registered a second, plain host (no IMDS) that still reports
 */
import { agentHostMeta, agentInterfaces, type OddHost, oddHosts, seedOf } from '../sandbox/host-meta.js';
import type { FakeEc2, FakeHost, FakeMackerel, HostStatus } from '../sandbox/index.js';
import { BASE62, HEX, mulberry32, randomChars, randomInt, shuffle } from '../sandbox/random.js';
import type { Instance, InstanceState } from '../shared/ec2/instance.js';
import { readHost } from '../shared/mackerel/host-read.js';
import { projectHost } from '../shared/mackerel/project.js';
import type { Host } from '../shared/mackerel/schemas.js';
import type { InstanceRecord, Observation, Policy, RestoreMemo } from '../shared/reconcile/types.js';

export const FLEET_REGION = 'ap-northeast-1';

/** The planner's policy for the benchmarks: the circuit breaker out of reach, so every drift is planned. */
export const BENCH_POLICY: Policy = {
  dryRun: false,
  maxRetirePerRun: 1_000_000,
  maxRetirePercent: 100,
  duplicateStaleMinutes: 30,
  imdsRemediate: false,
  circuitBreaker: true,
};
const DNS_SUFFIX = `.${FLEET_REGION}.compute.internal`;
const HOUR = 3600;
const DAY = 24 * HOUR;

export const DRIFT_MIX = { terminate: 0.05, stop: 0.015, restore: 0.015, duplicate: 0.005 } as const;
export type DriftGroup = keyof typeof DRIFT_MIX | 'steady';

export interface FleetInstance {
  instanceId: string;
  privateIpAddress: string;
  privateDnsName: string;
  /** epoch ms, whole seconds (EC2 reports seconds) */
  launchTime: number;
  day0: InstanceState;
  now: InstanceState;
  group: DriftGroup;
}

export interface FleetHost {
  id: string;
  instanceId: string;
  /** integration: customIdentifier + meta.cloud; agent-dup: the OS hostname and an IP only */
  kind: 'integration' | 'agent-dup';
  name: string;
  roles: Record<string, string[]>;
  /** epoch seconds */
  createdAt: number;
  /** status at day 0 (agent-dup hosts do not exist at day 0) */
  day0Status: HostStatus;
  /** latest loadavg5, epoch seconds; only duplicates are asked for it */
  lastMetricAt?: number;
}

/** What the sweep after the drift must do, counted from the description (not from the code under test). */
export interface ExpectedWork {
  retirements: number;
  /** set-status actions by target status: poweroff for the stopped, the remembered status for the restarted */
  statusChanges: Record<string, number>;
  /** duplicate-host WARNING reports (each still-reporting duplicate) */
  checkReports: number;
  /** hosts whose last metric decides a merge (the agent duplicates) */
  duplicateCandidates: number;
  /** canonical agent hosts of running instances up ≥ 10 minutes, working or standby when observed (host-silent) */
  silenceCandidates: number;
  /** Host Retired + Host Status Changed + Duplicate Hosts Detected */
  findings: number;
  /** services with a host retired or powered off: one graph annotation each */
  annotatedServices: number;
}

export interface Fleet {
  seed: number;
  size: number;
  /** epoch seconds the fleet was generated for */
  nowS: number;
  region: string;
  instances: FleetInstance[];
  hosts: FleetHost[];
  /** old and odd hosts beside the fleet, linked to no instance: nothing may touch them */
  odd: OddHost[];
  expected: ExpectedWork;
}



const ROLES: Record<string, string[]>[] = [
  { shop: ['web'] },
  { shop: ['api'] },
  { shop: ['worker'] },
  { search: ['es-data'] },
  { payments: ['api'] },
  { ops: ['bastion'] },
];

/** Distinct private IPs without a lookup table: 10.a.b.c, c in 4..254, from the index. */
function ipOf(index: number): string {
  const c = 4 + (index % 251);
  const rest = Math.floor(index / 251);
  return `10.${Math.floor(rest / 256) % 256}.${rest % 256}.${c}`;
}

export function generateFleet(opts: { size: number; seed: number; nowS?: number }): Fleet {
  const { size, seed } = opts;
  if (!Number.isInteger(size) || size < 100) throw new RangeError(`size must be an integer ≥ 100, got ${size}`);
  const rng = mulberry32(seed ^ 0x6be4c4);
  const nowS = opts.nowS ?? Math.floor(Date.now() / 1000);

  const order = shuffle(
    rng,
    Array.from({ length: size }, (_, i) => i),
  );
  const groupOf = new Array<DriftGroup>(size).fill('steady');
  let at = 0;
  for (const g of ['terminate', 'stop', 'restore', 'duplicate'] as const) {
    const n = Math.round(size * DRIFT_MIX[g]);
    for (const i of order.slice(at, at + n)) groupOf[i] = g;
    at += n;
  }

  const instanceIds = new Set<string>();
  const hostIds = new Set<string>();
  const fresh = (set: Set<string>, make: () => string) => {
    let id: string;
    do id = make();
    while (set.has(id));
    set.add(id);
    return id;
  };

  const instances: FleetInstance[] = [];
  const hosts: FleetHost[] = [];
  for (let i = 0; i < size; i++) {
    const group = groupOf[i] as DriftGroup;
    const ip = ipOf(i);
    const launchS = nowS - randomInt(rng, 3 * HOUR, 60 * DAY);
    const inst: FleetInstance = {
      instanceId: fresh(instanceIds, () => `i-${randomChars(rng, HEX, 17)}`),
      privateIpAddress: ip,
      privateDnsName: `ip-${ip.replace(/\./g, '-')}${DNS_SUFFIX}`,
      launchTime: launchS * 1000,
      day0: group === 'restore' ? 'stopped' : 'running',
      now: group === 'terminate' ? 'terminated' : group === 'stop' ? 'stopped' : 'running',
      group,
    };
    instances.push(inst);
    const roles = ROLES[randomInt(rng, 0, ROLES.length - 1)] as Record<string, string[]>;
    // One in five of the hosts that will be powered off was on standby: restores go to two target statuses.
    const standby = (group === 'stop' || group === 'restore') && rng() < 0.2;
    hosts.push({
      id: fresh(hostIds, () => randomChars(rng, BASE62, 11)),
      instanceId: inst.instanceId,
      kind: 'integration',
      name: inst.privateDnsName,
      roles,
      createdAt: launchS + randomInt(rng, 40, 300),
      day0Status: standby ? 'standby' : 'working',
    });
    if (group === 'duplicate') {
      hosts.push({
        id: fresh(hostIds, () => randomChars(rng, BASE62, 11)),
        instanceId: inst.instanceId,
        kind: 'agent-dup',
        // the OS hostname is the first label of the private DNS name
        name: inst.privateDnsName.split('.')[0] as string,
        // same roles as the real host: no merge, only the duplicate-host check
        roles,
        createdAt: Math.max(launchS + 600, nowS - 2 * HOUR),
        day0Status: 'working',
        lastMetricAt: nowS - 60,
      });
    }
  }

  const inGroup = (g: DriftGroup) => instances.filter((i) => i.group === g).length;
  const byId = new Map(hosts.filter((h) => h.kind === 'integration').map((h) => [h.instanceId, h]));
  const statusChanges: Record<string, number> = {};
  const bump = (s: string) => (statusChanges[s] = (statusChanges[s] ?? 0) + 1);
  for (const inst of instances) {
    if (inst.group === 'stop') bump('poweroff');
    if (inst.group === 'restore') bump(byId.get(inst.instanceId)?.day0Status ?? 'working');
  }
  const retirements = inGroup('terminate');
  const actedOn = new Set(instances.filter((i) => i.group === 'terminate' || i.group === 'stop').map((i) => i.instanceId));
  const duplicates = inGroup('duplicate');
  const changes = Object.values(statusChanges).reduce((a, b) => a + b, 0);
  return {
    seed,
    size,
    nowS,
    region: FLEET_REGION,
    instances,
    hosts,
    // the malformed ones too (`meta: ""`, a `meta.cloud` that is not an object): the reconciler quarantines them
    odd: oddHosts({ seed, nowS, malformed: true }),
    expected: {
      retirements,
      statusChanges,
      checkReports: duplicates,
      duplicateCandidates: duplicates,
      // a restarted instance's host is still poweroff when the sweep observes it: not watched yet
      silenceCandidates: instances.filter((i) => i.now === 'running' && i.group !== 'restore').length,
      findings: retirements + changes + duplicates,
      annotatedServices: new Set(
        hosts.filter((h) => h.kind === 'integration' && actedOn.has(h.instanceId)).flatMap((h) => Object.keys(h.roles)),
      ).size,
    },
  };
}

/**
 * The host as mackerel-agent registered it: the integration host with IMDS (customIdentifier and `meta.cloud`), the
 * duplicate without (no cloud). Meta and interfaces follow the fleet's seed and the host, not the order of making.
 */
function fakeHost(fleet: Pick<Fleet, 'seed'>, f: FleetHost, inst: FleetInstance, status: HostStatus) {
  const seed = seedOf(fleet.seed, f.id);
  const agent = { seed, instance: inst };
  // host-meta's types are the agent's; FakeHost's meta type only names the fields the reconciler reads
  const meta = agentHostMeta({ ...agent, imds: f.kind === 'integration' }) as unknown as FakeHost['meta'];
  const common = { id: f.id, name: f.name, roles: f.roles, createdAt: f.createdAt, status, meta, interfaces: agentInterfaces(agent) };
  if (f.kind === 'agent-dup') return common;
  return { ...common, customIdentifier: `${inst.instanceId}.ec2.amazonaws.com` };
}

function addOddHosts(fleet: Fleet, mackerel: FakeMackerel): void {
  for (const o of fleet.odd) mackerel.addHost(o.host);
}

type Fakes = { mackerel: FakeMackerel; ec2: FakeEc2 };

function addInstances(fleet: Fleet, ec2: FakeEc2, state: 'day0' | 'now'): void {
  for (const i of fleet.instances) {
    ec2.addInstance({
      instanceId: i.instanceId,
      region: fleet.region,
      state: i[state],
      privateIpAddress: i.privateIpAddress,
      privateDnsName: i.privateDnsName,
      launchTime: new Date(i.launchTime),
      tags: { Name: `bench-${i.instanceId.slice(-6)}` },
    });
  }
}

/** Day 0 in the fakes: every instance in its day-0 state, every integration host, no duplicates yet. */
export function seedDay0(fleet: Fleet, fakes: Fakes): void {
  addInstances(fleet, fakes.ec2, 'day0');
  const byId = new Map(fleet.instances.map((i) => [i.instanceId, i]));
  for (const h of fleet.hosts) {
    if (h.kind !== 'integration') continue;
    fakes.mackerel.addHost(fakeHost(fleet, h, byId.get(h.instanceId) as FleetInstance, h.day0Status));
  }
  addOddHosts(fleet, fakes.mackerel);
}

/** Day 0 → now, in the fakes: the state changes and the duplicates' arrival. */
export function applyDrift(fleet: Fleet, fakes: Fakes): void {
  const byId = new Map(fleet.instances.map((i) => [i.instanceId, i]));
  for (const i of fleet.instances) if (i.day0 !== i.now) fakes.ec2.setState(i.instanceId, i.now);
  for (const h of fleet.hosts) {
    if (h.kind === 'agent-dup') {
      fakes.mackerel.addHost(fakeHost(fleet, h, byId.get(h.instanceId) as FleetInstance, h.day0Status));
    }
    if (h.lastMetricAt !== undefined) fakes.mackerel.setLatestMetric(h.id, 'loadavg5', h.lastMetricAt, 0.4);
  }
}

/** "Now" in fresh fakes, without any history: what a script run by hand against the drifted fleet sees. */
export function seedNow(fleet: Fleet, fakes: Fakes): void {
  addInstances(fleet, fakes.ec2, 'now');
  const byId = new Map(fleet.instances.map((i) => [i.instanceId, i]));
  for (const h of fleet.hosts) {
    const inst = byId.get(h.instanceId) as FleetInstance;
    const status = inst.day0 === 'stopped' && h.kind === 'integration' ? 'poweroff' : h.day0Status;
    fakes.mackerel.addHost(fakeHost(fleet, h, inst, status));
    if (h.lastMetricAt !== undefined) fakes.mackerel.setLatestMetric(h.id, 'loadavg5', h.lastMetricAt, 0.4);
  }
  addOddHosts(fleet, fakes.mackerel);
}

/**
 * A host as the client hands it on: from the JSON the API served, cut down and read on its own as the client's
 * host list does (`projectHost`, then `readHost`; the malformed ones set aside), so that the planner's input holds
 * what production holds.
 */
function asServed(h: object, index: number): Host | undefined {
  const raw: unknown = JSON.parse(JSON.stringify({ memo: '', isRetired: false, size: 'standard', ...h }));
  const read = readHost(projectHost(raw), `hosts.${index}`);
  return read.ok ? read.host : undefined;
}

/**
 * The planner's input for the sweep after the drift, built without I/O: the observation `observeFleet` would
 * return, with the store holding what the day-0 sweep recorded (sightings, links, restore memos).
 */
export function observationOf(fleet: Fleet, accountId = '123456789012'): Observation {
  const nowMs = fleet.nowS * 1000;
  const day0S = fleet.nowS - HOUR;
  const byInstance = new Map<string, FleetHost[]>();
  for (const h of fleet.hosts) {
    const list = byInstance.get(h.instanceId);
    if (list) list.push(h);
    else byInstance.set(h.instanceId, [h]);
  }
  const instances: Instance[] = [];
  const records: InstanceRecord[] = [];
  const restores: RestoreMemo[] = [];
  // Each host is served and read at once, so that no more than one full agent meta is alive at a time: the planner
  // child's peak memory is then its input's, not the making of it.
  const hosts: Host[] = [];
  const serve = (h: object) => {
    const read = asServed(h, hosts.length);
    if (read) hosts.push(read);
  };
  for (const i of fleet.instances) {
    const terminated = i.now === 'terminated';
    instances.push({
      instanceId: i.instanceId,
      region: fleet.region,
      state: i.now,
      launchTime: i.launchTime,
      tags: { Name: `bench-${i.instanceId.slice(-6)}` },
      httpEndpoint: 'enabled',
      // EC2 drops a terminated instance's private address
      ...(terminated ? {} : { privateDnsName: i.privateDnsName, privateIpAddress: i.privateIpAddress }),
    });
    const own = byInstance.get(i.instanceId) ?? [];
    const changed = i.day0 !== i.now;
    records.push({
      instanceId: i.instanceId,
      region: fleet.region,
      accountId,
      state: i.now,
      stateTime: changed ? fleet.nowS : day0S,
      version: changed ? 2 : 1,
      firstSeenAt: day0S,
      lastSeenAt: changed ? fleet.nowS : day0S,
      ignored: false,
      privateDnsName: i.privateDnsName,
      privateIpAddress: i.privateIpAddress,
      launchTime: i.launchTime,
      linkedHostIds: own.filter((h) => h.kind === 'integration').map((h) => h.id),
    });
    for (const h of own) {
      const status = i.day0 === 'stopped' && h.kind === 'integration' ? 'poweroff' : h.day0Status;
      if (i.day0 === 'stopped' && h.kind === 'integration') {
        restores.push({ instanceId: i.instanceId, hostId: h.id, status: h.day0Status, setAt: day0S });
      }
      serve(fakeHost(fleet, h, i, status));
    }
  }
  for (const o of fleet.odd) serve(o.host);
  const latestMetricTime: Record<string, number> = {};
  for (const h of fleet.hosts) if (h.lastMetricAt !== undefined) latestMetricTime[h.id] = h.lastMetricAt;
  // Every integration host's agent reports (the sandbox's default): what observe would read for host-silent.
  for (const h of fleet.hosts) if (h.kind === 'integration') latestMetricTime[h.id] ??= fleet.nowS - 60;
  return {
    now: nowMs,
    mode: 'fleet',
    regions: [{ region: fleet.region, ok: true, instanceCount: instances.length }],
    hosts,
    instances,
    notFound: [],
    state: { records, restores, checks: [] },
    latestMetricTime,
  };
}
