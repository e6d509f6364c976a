/**
 * fast-check arbitraries for random fleets, built on the planner's real types: an `Observation` as observe
 * would hand it over (records already hold this run's sightings), a `Policy`, and the ground truth the
 * generator knows and the planner has to work out (which instance each host really belongs to).
 *
 * Addresses come from a small pool on purpose: private IPs and DNS names are reused, and the weak match has
 * to cope with that (prefer the running instance, else link nothing).
 */
import fc from 'fast-check';
import type { Instance, InstanceState } from '../../shared/ec2/instance.js';
import { Host, type HostStatus } from '../../shared/mackerel/schemas.js';
import type {
  CheckMemo,
  InstanceRecord,
  Observation,
  Policy,
  RegionStatus,
  RestoreMemo,
} from '../../shared/reconcile/types.js';

export const NOW = Date.parse('2026-11-21T12:00:00Z');
export const NOW_S = NOW / 1000;
const HOUR_S = 3600;
export const REGIONS = ['ap-northeast-1', 'us-east-1'] as const;
export const ACCOUNT = '123456789012';
const STATES: InstanceState[] = ['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped'];
const STATUSES: HostStatus[] = ['working', 'standby', 'maintenance', 'poweroff'];
const ROLES = ['shop:web', 'shop:api', 'ops:bastion', 'search:es-data'];

/** What a generated host really is. The planner never sees this. */
export type HostTruth =
  | { kind: 'ci' | 'cloud-meta' | 'agent'; instanceId: string }
  /** strongly names an instance of another account, never seen here */
  | { kind: 'foreign'; instanceId: string }
  /** an unrelated host (a laptop, another cloud): matches nothing */
  | { kind: 'stray' };

export interface FleetCase {
  obs: Observation;
  policy: Policy;
  truth: Map<string, HostTruth>;
  /** every instance of this account, live or remembered, with the state EC2 is in (or 'gone') */
  instanceState: Map<string, InstanceState | 'gone'>;
}

const hostSpec = fc.record({
  kind: fc.constantFrom('ci', 'ci', 'cloud-meta', 'agent-dns', 'agent-short', 'agent-ip'),
  status: fc.constantFrom(...STATUSES),
  roles: fc.subarray(ROLES, { maxLength: 2 }),
  /** hours after the instance launched; strong hosts may predate it (an AMI-baked id, a re-used host) */
  createdAfterLaunchH: fc.integer({ min: -3, max: 30 }),
  metric: fc.constantFrom('none', 'fresh', 'stale'),
  restore: fc.option(fc.constantFrom<HostStatus>('working', 'standby', 'maintenance', 'poweroff'), {
    freq: 3,
  }),
  checks: fc.subarray(
    [
      ['imds-disabled', 'WARNING'],
      ['imds-disabled', 'OK'],
      ['duplicate-host', 'WARNING'],
      ['duplicate-host', 'OK'],
    ] as const,
    { maxLength: 2 },
  ),
  /** a full sweep recorded this link (the event path trusts weak links only then) */
  recordedLink: fc.boolean(),
});

const instanceSpec = fc.record({
  state: fc.constantFrom(...STATES),
  region: fc.constantFrom(...REGIONS),
  /** record-only: owned, but DescribeInstances no longer returns it */
  live: fc.constantFrom(true, true, true, false),
  /** the record's state lags behind EC2 now and then */
  recordState: fc.option(fc.constantFrom(...STATES), { freq: 4 }),
  /** the first sighting was already terminated: no address was ever recorded */
  addressRecorded: fc.constantFrom(true, true, true, false),
  ip: fc.integer({ min: 1, max: 8 }),
  launchedHoursAgo: fc.integer({ min: 1, max: 48 }),
  imds: fc.constantFrom<'enabled' | 'disabled'>('enabled', 'enabled', 'disabled'),
  ignored: fc.constantFrom(false, false, false, false, false, false, false, true),
  version: fc.integer({ min: 1, max: 6 }),
  hosts: fc.array(hostSpec, { maxLength: 3 }),
});

const foreignSpec = fc.record({
  kind: fc.constantFrom('foreign-ci', 'foreign-cloud-meta', 'stray'),
  status: fc.constantFrom(...STATUSES),
});

const caseSpec = fc.record({
  instances: fc.array(instanceSpec, { maxLength: 10 }),
  foreign: fc.array(foreignSpec, { maxLength: 3 }),
  /** memos about hosts someone else already retired */
  orphanMemos: fc.integer({ min: 0, max: 2 }),
  regionOk: fc.record({
    'ap-northeast-1': fc.constantFrom(true, true, true, false),
    'us-east-1': fc.constantFrom(true, true, false),
  }),
  mode: fc.constantFrom('fleet', 'fleet', 'instances'),
  /** instances mode: which owned instances are targets (by index modulo) */
  targetPick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  /** instances mode: target ids nobody ever saw (EC2 denies them) */
  unknownTargets: fc.integer({ min: 0, max: 1 }),
  policy: fc.record({
    maxRetirePerRun: fc.constantFrom(1, 3, 50),
    maxRetirePercent: fc.constantFrom(10, 20, 100),
    duplicateStaleMinutes: fc.constant(30),
    imdsRemediate: fc.boolean(),
    circuitBreaker: fc.boolean(),
  }),
});

const idOf = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(17, '0')}`;
const dnsOf = (region: string, ip: string) =>
  `ip-${ip.replaceAll('.', '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
const rolesOf = (fullnames: readonly string[]) => {
  const roles: Record<string, string[]> = {};
  for (const f of fullnames) {
    const [service, role] = f.split(':') as [string, string];
    roles[service] = [...(roles[service] ?? []), role];
  }
  return roles;
};

type CaseSpec = typeof caseSpec extends fc.Arbitrary<infer T> ? T : never;

function build(spec: CaseSpec): FleetCase {
  const truth = new Map<string, HostTruth>();
  const instanceState = new Map<string, InstanceState | 'gone'>();
  const hosts: Host[] = [];
  const latestMetricTime: Record<string, number> = {};
  const restores: RestoreMemo[] = [];
  const checks: CheckMemo[] = [];
  let hostSeq = 0;
  const newHostId = () => `h${(hostSeq++).toString(36).padStart(3, '0')}`;
  const regionOk = (r: string) => spec.regionOk[r as keyof typeof spec.regionOk];

  const all = spec.instances.map((s, n) => {
    const instanceId = idOf('i-', n + 1);
    const ip = `10.0.0.${s.ip}`;
    const dns = dnsOf(s.region, ip);
    const launchTime = NOW - s.launchedHoursAgo * HOUR_S * 1000;
    const inst: Instance = {
      instanceId,
      region: s.region,
      state: s.state,
      launchTime,
      tags: s.ignored ? { 'mackerel-reconciler:ignore': 'true' } : {},
      httpEndpoint: s.imds,
      // DescribeInstances drops a terminated instance's addresses.
      ...(s.state === 'terminated' ? {} : { privateDnsName: dns, privateIpAddress: ip }),
    };
    instanceState.set(instanceId, s.live ? s.state : 'gone');

    const linked: string[] = [];
    // customIdentifier is unique in Mackerel: another host naming the same instance can only carry meta.cloud.
    const hostSpecs = s.hosts.map((h, k) =>
      h.kind === 'ci' && s.hosts.slice(0, k).some((o) => o.kind === 'ci')
        ? { ...h, kind: 'cloud-meta' as const }
        : h,
    );
    for (const h of hostSpecs) {
      const id = newHostId();
      if (h.recordedLink) linked.push(id);
      const createdAt = Math.floor(launchTime / 1000) + h.createdAfterLaunchH * HOUR_S;
      const base = { id, status: h.status, roles: rolesOf(h.roles), isRetired: false, meta: {}, createdAt };
      if (h.kind === 'ci') {
        hosts.push(Host.parse({ ...base, name: dns, customIdentifier: `${instanceId}.ec2.amazonaws.com` }));
        truth.set(id, { kind: 'ci', instanceId });
      } else if (h.kind === 'cloud-meta') {
        const meta = { cloud: { provider: 'ec2', metadata: { 'instance-id': instanceId } } };
        hosts.push(Host.parse({ ...base, name: dns, meta }));
        truth.set(id, { kind: 'cloud-meta', instanceId });
      } else {
        // The agent without IMDS: only its hostname or IP ties it to the instance; it started after launch.
        const short = dns.split('.')[0] as string;
        const name = h.kind === 'agent-dns' ? dns : h.kind === 'agent-short' ? short : `web-${id}`;
        const interfaces =
          h.kind === 'agent-ip' ? [{ name: 'eth0', ipAddress: ip, ipv4Addresses: [`${ip}/24`] }] : [];
        const after = Math.floor(launchTime / 1000) + Math.max(60, h.createdAfterLaunchH * HOUR_S);
        hosts.push(Host.parse({ ...base, name, interfaces, createdAt: after }));
        truth.set(id, { kind: 'agent', instanceId });
      }
      if (h.metric === 'fresh') latestMetricTime[id] = NOW_S - 60;
      if (h.metric === 'stale') latestMetricTime[id] = NOW_S - 3 * HOUR_S;
      if (h.restore) restores.push({ instanceId, hostId: id, status: h.restore, setAt: NOW_S - HOUR_S });
      for (const [name, status] of h.checks) {
        if (checks.some((c) => c.hostId === id && c.name === name)) continue;
        checks.push({ instanceId, hostId: id, name, status, changedAt: NOW_S - HOUR_S });
      }
    }
    // Only an instance first seen terminated (or already gone) can have a record without its address.
    const recordsAddress = s.addressRecorded || (s.live && s.state !== 'terminated');
    const record = (seenNow: boolean): InstanceRecord => ({
      instanceId,
      region: s.region,
      accountId: ACCOUNT,
      // This run's sighting has just been recorded; otherwise the record may lag behind EC2.
      state: seenNow ? s.state : (s.recordState ?? s.state),
      stateTime: NOW_S - HOUR_S,
      version: s.version,
      firstSeenAt: NOW_S - 50 * HOUR_S,
      lastSeenAt: NOW_S - HOUR_S,
      ignored: s.ignored,
      ...(recordsAddress ? { privateDnsName: dns, privateIpAddress: ip } : {}),
      launchTime,
      linkedHostIds: linked,
    });
    // A region that could not be read returns nothing, live or not.
    const visible = s.live && regionOk(s.region);
    return { inst, visible, record };
  });

  spec.foreign.forEach((f, n) => {
    const id = newHostId();
    const foreignId = idOf('i-', 0xf0000 + n);
    const base = { id, status: f.status, roles: {}, isRetired: false, createdAt: NOW_S - 5 * HOUR_S };
    if (f.kind === 'foreign-ci') {
      const customIdentifier = `${foreignId}.ec2.amazonaws.com`;
      hosts.push(Host.parse({ ...base, name: `ip-172-31-0-${n + 1}`, customIdentifier, meta: {} }));
      truth.set(id, { kind: 'foreign', instanceId: foreignId });
    } else if (f.kind === 'foreign-cloud-meta') {
      const meta = { cloud: { provider: 'ec2', metadata: { 'instance-id': foreignId } } };
      hosts.push(Host.parse({ ...base, name: `ip-172-31-1-${n + 1}`, meta }));
      truth.set(id, { kind: 'foreign', instanceId: foreignId });
    } else {
      const interfaces = [{ name: 'en0', ipAddress: `192.168.1.${n + 1}` }];
      hosts.push(Host.parse({ ...base, name: `laptop-${n}`, meta: {}, interfaces }));
      truth.set(id, { kind: 'stray' });
    }
  });

  const owned = all.map((a) => a.inst.instanceId);
  for (let k = 0; k < spec.orphanMemos && owned.length > 0; k++) {
    const instanceId = owned[k % owned.length] as string;
    const hostId = `retired-${k}`;
    restores.push({ instanceId, hostId, status: 'working', setAt: NOW_S - HOUR_S });
    checks.push({ instanceId, hostId, name: 'duplicate-host', status: 'WARNING', changedAt: NOW_S - HOUR_S });
  }

  const policy: Policy = { dryRun: false, ...spec.policy };
  if (spec.mode === 'fleet') {
    const instances = all.filter((a) => a.visible).map((a) => a.inst);
    const obs: Observation = {
      now: NOW,
      mode: 'fleet',
      regions: REGIONS.map(
        (region): RegionStatus =>
          regionOk(region)
            ? { region, ok: true, instanceCount: instances.filter((i) => i.region === region).length }
            : { region, ok: false, instanceCount: 0, error: 'UnauthorizedOperation' },
      ),
      hosts,
      instances,
      notFound: [],
      state: { records: all.map((a) => a.record(a.visible)), restores, checks },
      latestMetricTime,
    };
    return { obs, policy, truth, instanceState };
  }

  // Instances mode (an event or a replay): a look-up of a few ids, and only their partitions of the store.
  const targets = new Set<string>();
  for (const p of spec.targetPick) if (owned.length > 0) targets.add(owned[p % owned.length] as string);
  for (let k = 0; k < spec.unknownTargets; k++) targets.add(idOf('i-', 0xe0000 + k));
  if (targets.size === 0) targets.add(idOf('i-', 0xe0009));
  const targetIds = [...targets];
  const byId = new Map(all.map((a) => [a.inst.instanceId, a]));
  const regionOf = (id: string) => byId.get(id)?.inst.region ?? REGIONS[0];
  const found = all.filter((a) => a.visible && targets.has(a.inst.instanceId)).map((a) => a.inst);
  // EC2 denies an id only in a region it could answer for: a failed region leaves it unknown.
  const notFound = targetIds.filter(
    (id) => !found.some((i) => i.instanceId === id) && regionOk(regionOf(id)),
  );
  const inTargets = (m: { instanceId: string }) => targets.has(m.instanceId);
  const obs: Observation = {
    now: NOW,
    mode: 'instances',
    targetIds,
    regions: [...new Set(targetIds.map(regionOf))].map(
      (region): RegionStatus =>
        regionOk(region)
          ? { region, ok: true, instanceCount: found.filter((i) => i.region === region).length }
          : { region, ok: false, instanceCount: 0, error: 'RequestLimitExceeded' },
    ),
    hosts,
    instances: found,
    notFound,
    state: {
      records: all.filter((a) => targets.has(a.inst.instanceId)).map((a) => a.record(a.visible)),
      restores: restores.filter(inTargets),
      checks: checks.filter(inTargets),
    },
    latestMetricTime,
  };
  return { obs, policy: { ...policy, circuitBreaker: false }, truth, instanceState };
}

/** A random fleet: live and remembered instances in two regions, hosts, foreign hosts, memos, a policy. */
export const fleetCase = (): fc.Arbitrary<FleetCase> => caseSpec.map(build);
