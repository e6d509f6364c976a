/**
 * A chaos scenario, generated from a seed alone: a fleet of EC2 instances with their Mackerel hosts, each
 * instance's lifecycle over the ticks of the run (launch, stop, start, terminate, EC2 forgetting it), every
 * EventBridge delivery (1–3 copies, late and out of order, some to a handler that gets killed), foreign hosts
 * and events from another account. Pure: no I/O, no clock; times are offsets from the run's start.
 *
 * `expectedHosts` is the oracle: what the host list must look like at the end, worked out from the lifecycle
 * alone (docs/design.md's rules applied by hand), never by asking the planner. The generator only builds fleets
 * whose end state does not depend on how the races went (see the notes on duplicates below).
 */
import type { HostStatus, InstanceStateName } from '../sandbox/index.js';
import {
  BASE62,
  HEX,
  mulberry32,
  pick,
  randomChars,
  randomInt,
  randomUuid,
  shuffle,
} from '../sandbox/index.js';

export const ACCOUNT_FOREIGN = '999999999999';
export const DAY_S = 86_400;

export type Final = 'running' | 'stopped' | 'terminated' | 'gone';

/** One change to an instance: a state EC2 moves it to, its launch (pending), or EC2 forgetting it. */
export interface Step {
  tick: number;
  to: InstanceStateName | 'launch' | 'forget';
}

export interface ChaosInstance {
  instanceId: string;
  ip: string;
  /** exists before the run (seen by the day-0 sweep), or launched during it */
  preexisting: boolean;
  /** state at the start of the run (pre-existing instances) */
  initial: 'running' | 'stopped';
  launchedDaysAgo: number;
  imds: 'enabled' | 'disabled';
  /** tagged mackerel-reconciler:ignore=true */
  ignored: boolean;
  steps: Step[];
  final: Final;
}

export type HostRole =
  /** the integration's host or an agent with IMDS: customIdentifier */
  | 'canonical-ci'
  /** strongly linked by meta.cloud instance-id only */
  | 'canonical-cloud'
  /** an agent that never had IMDS: only its name and IP tie it to the instance */
  | 'canonical-agent'
  /** an agent host registered without IMDS that has since gone silent (its agent adopted the real host) */
  | 'dup-silent'
  /** an agent host registered without IMDS that still posts metrics (IMDS is still disabled) */
  | 'dup-reporting'
  /** strongly names an instance of another account */
  | 'foreign'
  /** a host that is no EC2 instance at all */
  | 'stray';

export interface ChaosHost {
  id: string;
  role: HostRole;
  /** the instance it really belongs to (ours only) */
  instanceId?: string;
  name: string;
  customIdentifier?: string;
  cloudInstanceId?: string;
  ip?: string;
  status: HostStatus;
  roles: Record<string, string[]>;
  /** before the run, right after the day-0 sweep (drift), or when its instance first runs */
  appears: 'day0' | 'drift' | 'at-running';
  /** seconds before the run's start (for day0 and drift hosts) */
  createdSecondsAgo: number;
}

/** One delivery of a state-change event to the handler (EventBridge is at-least-once). */
export interface Delivery {
  /** the event's id: all copies share it */
  eventId: string;
  instanceId: string;
  state: InstanceStateName;
  /** the tick of the change it reports */
  changeTick: number;
  /** the tick it is delivered at (≥ changeTick + 1; later copies arrive out of order) */
  tick: number;
  copy: number;
  account: 'ours' | 'foreign';
  /** the handler is killed between claiming its actions and performing them (a Lambda timeout) */
  kill: boolean;
}

export interface SweepPlan {
  tick: number;
  kill: boolean;
}

export interface Scenario {
  seed: number;
  ticks: number;
  instances: ChaosInstance[];
  hosts: ChaosHost[];
  deliveries: Delivery[];
  sweeps: SweepPlan[];
  /** state-change events created (ours), not counting copies */
  eventCount: number;
}

export interface ScenarioOptions {
  seed: number;
  instances: number;
  ticks?: number;
  sweepEvery?: number;
  killRate?: number;
  sweepKillRate?: number;
}

const SERVICES = ['shop:web', 'shop:api', 'shop:worker', 'search:es-data', 'payments:api', 'ops:bastion'];

export const dnsOf = (ip: string) => `ip-${ip.replaceAll('.', '-')}.ap-northeast-1.compute.internal`;

function rolesOf(fullnames: readonly string[]): Record<string, string[]> {
  const roles: Record<string, string[]> = {};
  for (const f of fullnames) {
    const [service, role] = f.split(':') as [string, string];
    if (!(roles[service] ?? []).includes(role)) roles[service] = [...(roles[service] ?? []), role];
  }
  return roles;
}

export const roleFullnames = (roles: Record<string, string[]>) =>
  Object.entries(roles)
    .flatMap(([s, rs]) => rs.map((r) => `${s}:${r}`))
    .sort();

/** A seeded draw in [0, 1) for a key, independent of the order things happen in. */
export function keyedRandom(seed: number, key: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x9e3779b1) >>> 0;
  return mulberry32(h)();
}

type Op = 'stop' | 'start' | 'terminate' | 'forget';

/** A lifecycle for an instance, as operations; `forget` means EC2 stops returning it. */
function lifecycle(rng: () => number, from: 'running' | 'stopped' | 'launch'): Op[] {
  const r = rng();
  if (from === 'launch') {
    if (r < 0.5) return [];
    if (r < 0.7) return ['stop'];
    if (r < 0.9) return ['terminate'];
    return ['stop', 'start'];
  }
  if (from === 'stopped') {
    if (r < 0.35) return [];
    if (r < 0.7) return ['start'];
    if (r < 0.8) return ['start', 'stop'];
    if (r < 0.92) return ['terminate'];
    return ['terminate', 'forget'];
  }
  if (r < 0.3) return [];
  if (r < 0.5) return ['stop'];
  if (r < 0.62) return ['stop', 'start'];
  if (r < 0.67) return ['stop', 'start', 'stop'];
  if (r < 0.85) return ['terminate'];
  if (r < 0.9) return ['stop', 'terminate'];
  if (r < 0.96) return ['terminate', 'forget'];
  return ['stop', 'start', 'terminate'];
}

const OP_STATES: Record<Op, Step['to'][]> = {
  stop: ['stopping', 'stopped'],
  start: ['pending', 'running'],
  terminate: ['shutting-down', 'terminated'],
  forget: ['forget'],
};

function finalOf(from: 'running' | 'stopped' | 'launch', ops: readonly Op[]): Final {
  let s: Final = from === 'launch' ? 'running' : from;
  for (const op of ops) {
    if (op === 'stop') s = 'stopped';
    else if (op === 'start') s = 'running';
    else if (op === 'terminate') s = 'terminated';
    else s = 'gone';
  }
  return s;
}

export function generateScenario(opts: ScenarioOptions): Scenario {
  const rng = mulberry32(opts.seed);
  const ticks = opts.ticks ?? 48;
  const sweepEvery = opts.sweepEvery ?? 6;
  const killRate = opts.killRate ?? 0.05;
  const sweepKillRate = opts.sweepKillRate ?? 0.15;
  const chance = (p: number) => rng() < p;

  const usedIds = new Set<string>();
  const uniqueId = (make: () => string) => {
    let id = make();
    while (usedIds.has(id)) id = make();
    usedIds.add(id);
    return id;
  };
  const instanceId = () => uniqueId(() => `i-${randomChars(rng, HEX, 17)}`);
  const hostId = () => uniqueId(() => randomChars(rng, BASE62, 11));
  // Private addresses are unique within the fleet: a reused one makes the weak match ambiguous on purpose,
  // which the planner property tests cover; here every agent host must have exactly one owner.
  const usedIps = new Set<string>();
  const ipOf = () => {
    let ip: string;
    do ip = `10.${randomInt(rng, 0, 255)}.${randomInt(rng, 0, 255)}.${randomInt(rng, 4, 254)}`;
    while (usedIps.has(ip));
    usedIps.add(ip);
    return ip;
  };

  const instances: ChaosInstance[] = [];
  const hosts: ChaosHost[] = [];
  const steps: { inst: ChaosInstance; step: Step }[] = [];

  for (let n = 0; n < opts.instances; n++) {
    const preexisting = !chance(0.1);
    const initial: 'running' | 'stopped' = preexisting && chance(0.15) ? 'stopped' : 'running';
    const ignored = preexisting && chance(0.02);
    const ops = lifecycle(rng, preexisting ? initial : 'launch');
    const final = finalOf(preexisting ? initial : 'launch', ops);
    const inst: ChaosInstance = {
      instanceId: instanceId(),
      ip: ipOf(),
      preexisting,
      initial,
      launchedDaysAgo: randomInt(rng, 3, 60),
      imds: 'enabled',
      ignored,
      steps: [],
      final,
    };

    // When things happen: each operation's two states a few ticks apart, operations further apart.
    const changes: Step['to'][] = [
      ...(preexisting ? [] : (['launch', 'running'] as const)),
      ...ops.flatMap((o) => OP_STATES[o]),
    ];
    let tick = randomInt(rng, 0, Math.max(0, ticks - 24));
    changes.forEach((to, k) => {
      // The second state of an operation follows soon; the next operation, or EC2 forgetting, later.
      if (to === 'forget') tick += randomInt(rng, 2, 6);
      else if (k > 0) tick += k % 2 === 1 ? randomInt(rng, 1, 3) : randomInt(rng, 1, 6);
      inst.steps.push({ tick, to });
    });
    for (const step of inst.steps) steps.push({ inst, step });
    instances.push(inst);

    // Its hosts. Launched instances get the integration's host when they first run.
    const ageS = inst.launchedDaysAgo * DAY_S;
    const kindRoll = rng();
    if (kindRoll < 0.05) continue; // no agent, no integration: nothing to reconcile
    const role: HostRole =
      !preexisting || ignored || kindRoll < 0.75
        ? 'canonical-ci'
        : kindRoll < 0.9
          ? 'canonical-cloud'
          : 'canonical-agent';
    const statusRoll = rng();
    const status: HostStatus = !preexisting
      ? 'working'
      : statusRoll < 0.8
        ? 'working'
        : statusRoll < 0.9
          ? 'standby'
          : statusRoll < 0.95
            ? 'maintenance'
            : 'poweroff'; // a person powered it off: the service must leave it so
    const canonicalRoles = rolesOf([pick(rng, SERVICES)]);
    hosts.push({
      id: hostId(),
      role,
      instanceId: inst.instanceId,
      name: role === 'canonical-agent' ? dnsOf(inst.ip).split('.')[0] as string : dnsOf(inst.ip),
      ...(role === 'canonical-ci' ? { customIdentifier: `${inst.instanceId}.ec2.amazonaws.com` } : {}),
      ...(role === 'canonical-cloud' ? { cloudInstanceId: inst.instanceId } : {}),
      ...(role === 'canonical-agent' ? { ip: inst.ip } : {}),
      status,
      roles: canonicalRoles,
      appears: preexisting ? 'day0' : 'at-running',
      createdSecondsAgo: ageS - 600,
    });

    // Duplicates (agent hosts without IMDS), only where the end state does not depend on race timing:
    // - a silent one is retired however the run goes, unless its instance ends stopped (then whether a run saw
    //   it running first decides), so only for instances that end running, terminated or gone;
    // - extra roles only where the merge onto the canonical host is certain (ends running) or moot (retired).
    if (!preexisting || ignored || role === 'canonical-agent') continue;
    const mergeCertain = final !== 'stopped';
    const dupRoll = rng();
    const dupRole: HostRole | undefined =
      mergeCertain && dupRoll < 0.12 ? 'dup-silent' : dupRoll > 0.94 ? 'dup-reporting' : undefined;
    if (dupRole === 'dup-reporting' || chance(0.02)) inst.imds = 'disabled';
    if (!dupRole) continue;
    const extra = mergeCertain && chance(0.5) ? [pick(rng, SERVICES)] : [];
    hosts.push({
      id: hostId(),
      role: dupRole,
      instanceId: inst.instanceId,
      name: chance(0.5) ? dnsOf(inst.ip) : (dnsOf(inst.ip).split('.')[0] as string),
      ip: inst.ip,
      status: 'working',
      roles: rolesOf([...roleFullnames(canonicalRoles), ...extra]),
      appears: 'drift',
      // A silent duplicate was registered a day after launch and went quiet a day ago; a reporting one
      // registered half an hour ago (see STALE_MINUTES in engine.ts for why that matters).
      createdSecondsAgo: dupRole === 'dup-silent' ? ageS - DAY_S : 1800,
    });
  }

  // Another account's hosts (same Mackerel organisation) and hosts that are no EC2 instance at all.
  const foreignCount = Math.max(3, Math.round(opts.instances * 0.04));
  const foreignIds: string[] = [];
  for (let n = 0; n < foreignCount; n++) {
    const r = rng();
    const foreignInstance = instanceId();
    foreignIds.push(foreignInstance);
    const ip = `172.31.${randomInt(rng, 0, 255)}.${randomInt(rng, 4, 254)}`;
    const status = pick(rng, ['working', 'standby', 'maintenance', 'poweroff'] as const);
    const base = {
      id: hostId(),
      status,
      roles: rolesOf([pick(rng, SERVICES)]),
      appears: 'day0' as const,
      createdSecondsAgo: 10 * DAY_S,
    };
    if (r < 0.5) {
      const customIdentifier = `${foreignInstance}.ec2.amazonaws.com`;
      hosts.push({ ...base, role: 'foreign', name: dnsOf(ip), customIdentifier });
    } else if (r < 0.75) {
      hosts.push({ ...base, role: 'foreign', name: dnsOf(ip), cloudInstanceId: foreignInstance });
    } else {
      const name = r < 0.9 ? `laptop-${n}` : (dnsOf(ip).split('.')[0] as string);
      hosts.push({ ...base, role: 'stray', name, ip });
    }
  }

  // Deliveries: every change to a state EventBridge reports, 1–3 copies, each a little late (some very late).
  const deliveries: Delivery[] = [];
  let eventCount = 0;
  const push = (event: Omit<Delivery, 'tick' | 'copy' | 'kill'>) => {
    const copies = rng() < 0.55 ? 1 : rng() < 0.67 ? 2 : 3;
    for (let copy = 0; copy < copies; copy++) {
      const delay = rng() < 0.7 ? 1 : randomInt(rng, 2, 10);
      deliveries.push({ ...event, tick: event.changeTick + delay, copy, kill: rng() < killRate });
    }
  };
  for (const { inst, step } of steps) {
    if (step.to === 'forget') continue;
    const state: InstanceStateName = step.to === 'launch' ? 'pending' : step.to;
    eventCount++;
    push({ eventId: randomUuid(rng), instanceId: inst.instanceId, state, changeTick: step.tick, account: 'ours' });
    // Now and then another account's event: about its own instance, or naming one of ours.
    if (rng() < 0.03) {
      push({
        eventId: randomUuid(rng),
        instanceId: rng() < 0.5 ? pick(rng, foreignIds) : inst.instanceId,
        state: pick(rng, ['running', 'stopped', 'terminated'] as const),
        changeTick: step.tick,
        account: 'foreign',
      });
    }
  }

  const sweeps: SweepPlan[] = [];
  // Enough for the run and its tail of late deliveries and retries; the engine stops when everything is done.
  for (let t = sweepEvery; t < ticks + 60; t += sweepEvery) {
    sweeps.push({ tick: t, kill: rng() < sweepKillRate });
  }

  return {
    seed: opts.seed,
    ticks,
    instances,
    hosts: shuffle(rng, hosts),
    deliveries: shuffle(rng, deliveries),
    sweeps,
    eventCount,
  };
}

/** What a host must look like at the end, worked out from the scenario by docs/design.md's rules. */
export interface ExpectedHost {
  retired: boolean;
  status: HostStatus;
  roles: string[];
  /** no write of any kind may touch it (foreign, stray, an opted-out instance's) */
  untouchable: boolean;
  /** checks that must have been raised exactly once (WARNING) by the end */
  warnings: ('imds-disabled' | 'duplicate-host')[];
}

export function expectedHosts(s: Scenario): Map<string, ExpectedHost> {
  const byInstance = new Map(s.instances.map((i) => [i.instanceId, i]));
  const out = new Map<string, ExpectedHost>();
  for (const h of s.hosts) {
    const inst = h.instanceId ? byInstance.get(h.instanceId) : undefined;
    const roles = roleFullnames(h.roles);
    if (!inst || inst.ignored) {
      out.set(h.id, { retired: false, status: h.status, roles, untouchable: true, warnings: [] });
      continue;
    }
    if (inst.final === 'terminated' || inst.final === 'gone') {
      out.set(h.id, { retired: true, status: h.status, roles, untouchable: false, warnings: [] });
      continue;
    }
    if (inst.final === 'stopped') {
      // working and standby are powered off; maintenance and a person's poweroff are left alone.
      const status = h.status === 'working' || h.status === 'standby' ? 'poweroff' : h.status;
      out.set(h.id, { retired: false, status, roles, untouchable: false, warnings: [] });
      continue;
    }
    // Ends running: the status it had before any stop (restored), duplicates merged.
    const siblings = s.hosts.filter((x) => x.instanceId === inst.instanceId);
    const warnings: ExpectedHost['warnings'] = [];
    if (inst.imds === 'disabled' && h.role !== 'dup-silent') warnings.push('imds-disabled');
    if (h.role === 'dup-reporting') warnings.push('duplicate-host');
    const merged = h.role.startsWith('canonical')
      ? [...new Set(siblings.flatMap((x) => roleFullnames(x.roles)))].sort()
      : roles;
    const retired = h.role === 'dup-silent';
    out.set(h.id, { retired, status: h.status, roles: merged, untouchable: false, warnings });
  }
  return out;
}
