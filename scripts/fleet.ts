/**
 * A realistic fleet for the demo, seeded into the sandbox fakes through their in-memory APIs: a few dozen healthy
 * hosts plus one case of every drift docs/design.md describes. Seeding happens in two steps, because ownership needs
 * history: `seedFleet` builds "day 0" (what a first sweep should see), `drift()` then breaks things the way
 * production does. Every host carries a note saying what the reconciler should do with it, so the demo can check.
 */
import {
  agentHostMeta,
  agentInterfaces,
  type FakeEc2,
  type FakeHost,
  type FakeInstance,
  type FakeMackerel,
  type HostStatus,
  mulberry32,
  oddHosts,
  pick,
  randomInt,
  SANDBOX_REGION,
  seedOf,
} from '../sandbox/index.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
export const DNS_SUFFIX = `.${SANDBOX_REGION}.compute.internal`;
export const CI_SUFFIX = '.ec2.amazonaws.com';
export const IGNORE_TAG = 'mackerel-reconciler:ignore';

/** What the reconciler should have done to a host by the end of the demo. */
export interface Expectation {
  retired: boolean;
  status?: HostStatus;
  /** role fullnames the host must carry */
  roles?: string[];
  /** a check the reconciler must have raised on it */
  check?: 'imds-disabled' | 'duplicate-host';
  /** its own fields are malformed: every run must list it in unreadableHosts (quarantined) */
  unreadable?: boolean;
}

export interface FleetHost {
  hostId: string;
  /** the instance this host really belongs to (the demo knows; the reconciler has to work it out); '' for none */
  instanceId: string;
  /** one line for the tables: the drift this host shows */
  note: string;
  expect: Expectation;
}

/** The instances the demo refers to by role. */
export interface Cast {
  /** terminated with its host still working; the first also left an agent-without-IMDS host */
  terminated: [FakeInstance, FakeInstance, FakeInstance];
  /** removed from DescribeInstances entirely (terminated long enough ago) */
  forgotten: FakeInstance;
  duplicateSilent: FakeInstance;
  duplicateReporting: FakeInstance;
  stopped: [FakeInstance, FakeInstance];
  stoppedMaintenance: FakeInstance;
  /** stopped at day 0 (the service powers its host off), running again after */
  restarted: FakeInstance;
  imdsDisabled: FakeInstance;
  ignored: FakeInstance;
}

export interface Fleet {
  cast: Cast;
  /** every host seeded, by host id */
  hosts: Map<string, FleetHost>;
  /** a foreign account's instance id: its host is never ours to touch */
  foreignInstanceId: string;
  /** how many healthy instances (one host each) */
  healthyCount: number;
  /** day 0 → today: terminations, a vanished instance, stops, a restart, duplicates, IMDS turned off */
  drift(): void;
}

const SERVICES: { service: string; roles: string[]; weight: number }[] = [
  { service: 'shop', roles: ['web'], weight: 8 },
  { service: 'shop', roles: ['api'], weight: 6 },
  { service: 'shop', roles: ['worker'], weight: 4 },
  { service: 'search', roles: ['es-data'], weight: 3 },
  { service: 'shop', roles: ['batch'], weight: 1 },
  { service: 'ops', roles: ['bastion'], weight: 1 },
  { service: 'payments', roles: ['api'], weight: 2 },
];

export function seedFleet(
  fakes: { mackerel: FakeMackerel; ec2: FakeEc2 },
  opts: { seed: number; healthy?: number; now?: number },
): Fleet {
  const rng = mulberry32(opts.seed ^ 0x0f1ee7);
  const nowS = Math.floor((opts.now ?? Date.now()) / 1000);
  const { mackerel, ec2 } = fakes;
  const hosts = new Map<string, FleetHost>();
  const counters = new Map<string, number>();
  const weighted = SERVICES.flatMap((s) => Array.from({ length: s.weight }, () => s));

  const launch = (over: Partial<FakeInstance>, ageS: number, nameTag: string): FakeInstance =>
    ec2.addInstance({
      launchTime: new Date((nowS - ageS) * 1000),
      ...over,
      tags: { Name: nameTag, ...over.tags },
    });

  const nameFor = (service: string, role: string) => {
    const key = `${service}-${role}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    return `${key}-${String(n).padStart(2, '0')}`;
  };

  const launchedAt = (i: FakeInstance) => Math.floor(i.launchTime.getTime() / 1000);

  /** What mackerel-agent registers on the instance (sandbox/host-meta.ts); without IMDS, no `meta.cloud`. */
  const agent = (inst: Pick<FakeInstance, 'instanceId' | 'privateIpAddress' | 'privateDnsName'>, imds: boolean) => {
    const a = { seed: seedOf(opts.seed, inst.instanceId, imds ? 'imds' : 'plain'), instance: inst };
    // host-meta's types are the agent's; FakeHost's meta type only names the fields the reconciler reads
    return { meta: agentHostMeta({ ...a, imds }) as unknown as FakeHost['meta'], interfaces: agentInterfaces(a) };
  };

  /** The host the agent (with IMDS) or the AWS integration registers: linked by customIdentifier. */
  const integrationHost = (
    inst: FakeInstance,
    roles: Record<string, string[]>,
    note: string,
    expect: Expectation,
    over: Partial<FakeHost> = {},
  ): FakeHost => {
    const h = mackerel.addHost({
      name: inst.privateDnsName,
      customIdentifier: `${inst.instanceId}${CI_SUFFIX}`,
      roles,
      // the agent registers a minute or few after boot
      createdAt: launchedAt(inst) + randomInt(rng, 40, 300),
      ...agent(inst, true),
      ...over,
    });
    hosts.set(h.id, { hostId: h.id, instanceId: inst.instanceId, note, expect });
    return h;
  };

  /** The agent's second host when it could not read IMDS: the OS hostname and the IP are all it has. */
  const agentOnlyHost = (
    inst: FakeInstance,
    spec: {
      name: string;
      createdAt: number;
      roles: Record<string, string[]>;
      note: string;
      expect: Expectation;
    },
  ): FakeHost => {
    const h = mackerel.addHost({
      name: spec.name,
      roles: spec.roles,
      createdAt: spec.createdAt,
      ...agent(inst, false),
    });
    hosts.set(h.id, { hostId: h.id, instanceId: inst.instanceId, note: spec.note, expect: spec.expect });
    return h;
  };

  const reports = (hostId: string, agoS: number) =>
    mackerel.setLatestMetric(hostId, 'loadavg5', nowS - agoS, Math.round(rng() * 250) / 100);

  const fullnames = (roles: Record<string, string[]>) =>
    Object.entries(roles).flatMap(([s, rs]) => rs.map((r) => `${s}:${r}`));

  /** A running instance with its one host, reporting every minute. */
  const server = (
    note: string,
    expect: Expectation,
    over: Partial<FakeInstance> = {},
    hostOver: Partial<FakeHost> = {},
  ) => {
    const svc = pick(rng, weighted);
    const role = svc.roles[0] as string;
    const inst = launch(over, randomInt(rng, 3 * HOUR, 60 * DAY), nameFor(svc.service, role));
    const roles = { [svc.service]: [role] };
    const host = integrationHost(inst, roles, note, { roles: fullnames(roles), ...expect }, hostOver);
    reports(host.id, randomInt(rng, 20, 90));
    return { inst, host };
  };

  // --- day 0: a healthy fleet, plus the instance that is stopped overnight ---
  const healthyCount = opts.healthy ?? 25;
  for (let i = 0; i < healthyCount; i++) server('healthy', { retired: false, status: 'working' });

  const t0 = server('terminated', { retired: true });
  const t1 = server('terminated (event)', { retired: true });
  const t2 = server('terminated', { retired: true });
  const forgotten = server('gone from EC2', { retired: true });
  const dupSilent = server('duplicated, dup silent', { retired: false, status: 'working' });
  const dupReporting = server('duplicated, dup reports', { retired: false, status: 'working' });
  const stoppedA = server('stopped', { retired: false, status: 'poweroff' });
  const stoppedB = server(
    'stopped (was standby)',
    { retired: false, status: 'poweroff' },
    {},
    { status: 'standby' },
  );
  const stoppedM = server(
    'stopped, maintenance',
    { retired: false, status: 'maintenance' },
    {},
    { status: 'maintenance' },
  );
  const restarted = server('restarted', { retired: false, status: 'working' }, { state: 'stopped' });
  const imds = server('IMDS disabled', { retired: false, status: 'working', check: 'imds-disabled' });
  const ignored = server(
    'opt-out tag',
    { retired: false, status: 'working' },
    { tags: { [IGNORE_TAG]: 'true' } },
  );
  // The restarted instance was stopped at day 0: its metrics stopped then too.
  reports(restarted.host.id, 14 * HOUR);

  // Another AWS account's instance, registered in the same Mackerel organisation.
  const foreignInstanceId = `i-0${Array.from({ length: 16 }, () => pick(rng, [...'0123456789abcdef'])).join('')}`;
  const foreignName = 'ip-172-31-8-14.us-west-2.compute.internal';
  const foreignHost = mackerel.addHost({
    name: foreignName,
    customIdentifier: `${foreignInstanceId}${CI_SUFFIX}`,
    roles: { analytics: ['etl'] },
    createdAt: nowS - 40 * DAY,
    ...agent({ instanceId: foreignInstanceId, privateIpAddress: '172.31.8.14', privateDnsName: foreignName }, true),
  });
  reports(foreignHost.id, 45);
  hosts.set(foreignHost.id, {
    hostId: foreignHost.id,
    instanceId: foreignInstanceId,
    note: 'foreign account',
    expect: { retired: false, status: 'working' },
  });

  // Old and odd hosts real organisations keep, linked to nothing here: left alone. The malformed ones (`meta: ""`,
  // a `meta.cloud` that is not an object) are quarantined: reported as unreadable, never touched.
  for (const o of oddHosts({ seed: opts.seed, nowS, malformed: true })) {
    const h = mackerel.addHost(o.host);
    hosts.set(h.id, {
      hostId: h.id,
      instanceId: '',
      note: `odd: ${o.note}`,
      expect: { retired: false, status: h.status, ...(o.malformed ? { unreadable: true } : {}) },
    });
  }

  const cast: Cast = {
    terminated: [t0.inst, t1.inst, t2.inst],
    forgotten: forgotten.inst,
    duplicateSilent: dupSilent.inst,
    duplicateReporting: dupReporting.inst,
    stopped: [stoppedA.inst, stoppedB.inst],
    stoppedMaintenance: stoppedM.inst,
    restarted: restarted.inst,
    imdsDisabled: imds.inst,
    ignored: ignored.inst,
  };

  const drift = () => {
    // Terminated overnight; the agent never retired its hosts (no AUTO_RETIREMENT, or the OS went down first).
    // One of them had lost IMDS for a while and left a second, plain host behind.
    const [a, b, c] = cast.terminated;
    agentOnlyHost(a, {
      name: a.privateDnsName,
      createdAt: Math.min(launchedAt(a) + 2 * DAY, nowS - HOUR),
      roles: t0.host.roles,
      note: 'agent dup of terminated',
      expect: { retired: true },
    });
    for (const inst of [a, b, c]) {
      ec2.setState(inst.instanceId, 'terminated');
      for (const h of hosts.values()) if (h.instanceId === inst.instanceId) reports(h.hostId, 9 * HOUR);
    }
    // Terminated long ago: DescribeInstances no longer returns it at all.
    ec2.forget(cast.forgotten.instanceId);
    reports(forgotten.host.id, 3 * DAY);
    ec2.setState(cast.ignored.instanceId, 'terminated');
    reports(ignored.host.id, 8 * HOUR);

    // The agent could not reach IMDS (hop limit, firewall) and registered a plain second host. This one went
    // quiet after someone fixed the agent, but it carries a role the integration host never got.
    const silent = cast.duplicateSilent;
    const silentDup = agentOnlyHost(silent, {
      name: silent.privateDnsName,
      createdAt: Math.max(launchedAt(silent) + 600, nowS - 2 * DAY),
      roles: { ...dupSilent.host.roles, ops: ['cron'] },
      note: 'agent dup, silent 3h',
      expect: { retired: true },
    });
    reports(silentDup.id, 3 * HOUR);
    const canonical = hosts.get(dupSilent.host.id);
    if (canonical) {
      canonical.note = 'duplicated → roles merged';
      canonical.expect = {
        ...canonical.expect,
        roles: [...fullnames(dupSilent.host.roles), 'ops:cron'].sort(),
      };
    }

    const busy = cast.duplicateReporting;
    const busyDup = agentOnlyHost(busy, {
      // the OS hostname is the first label of the private DNS name
      name: busy.privateDnsName.split('.')[0] as string,
      createdAt: Math.max(launchedAt(busy) + 600, nowS - 5 * HOUR),
      roles: dupReporting.host.roles,
      note: 'agent dup, still reports',
      expect: { retired: false, status: 'working', check: 'duplicate-host' },
    });
    reports(busyDup.id, 50);

    for (const inst of [...cast.stopped, cast.stoppedMaintenance]) ec2.setState(inst.instanceId, 'stopped');
    for (const h of [stoppedA.host, stoppedB.host, stoppedM.host]) reports(h.id, 5 * HOUR);
    ec2.setState(cast.restarted.instanceId, 'running');
    reports(restarted.host.id, 30);
    cast.imdsDisabled.httpEndpoint = 'disabled';
  };

  return { cast, hosts, foreignInstanceId, healthyCount, drift };
}
