/**
 * One reconciliation run: observe → plan → act → report. The three handlers call these and nothing else.
 */
import { randomUUID } from 'node:crypto';
import type { Ec2StateChangeEvent } from '../events/schemas.js';
import type { Runtime } from '../runtime.js';
import { type InstanceCommit, type InstanceState, sameSet } from '../state/store.js';
import { type ActionResult, type ExecuteResult, execute } from './execute.js';
import { type Observed, observeFleet, observeInstances, type Target } from './observe.js';
import { plan } from './plan.js';
import type { Observation, Plan, Policy, RegionStatus } from './types.js';

export type Trigger = 'instance-state-change' | 'sweep' | 'replay' | 'cli';

export interface EventOutcome {
  eventId: string;
  instanceId: string;
  state: string;
  outcome: 'reconciled' | 'duplicate' | 'stale' | 'foreign-account';
  note?: string;
}

export interface Report {
  trigger: Trigger;
  runId: string;
  accountId: string;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  status: 'ok' | 'partial' | 'skipped';
  skipped?: string;
  regions: RegionStatus[];
  counts: {
    hosts: number;
    instances: number;
    linkedHosts: number;
    foreignHosts: number;
    planned: number;
    done: number;
    failed: number;
  };
  actions: ActionResult[];
  findings: { published: number; failed: number; detailTypes: Record<string, number> };
  ambiguities: Plan['ambiguities'];
  foreignHostIds: string[];
  ignoredInstanceIds: string[];
  unknownInstanceIds: string[];
  circuitBreaker?: Plan['circuitBreaker'];
  events?: EventOutcome[];
  /** requests this run had to repeat (429, 5xx, throttling), per API */
  apiRetries: { mackerel: number; ec2: number };
}

export interface RunOptions {
  dryRun?: boolean;
  trigger: Trigger;
  /** test hook, see ExecuteOptions */
  crashAfterClaim?: boolean;
  /** the command line's confirmed plan, see ExecuteOptions */
  only?: ReadonlySet<string>;
  /** epoch ms by which the host list must have been read, leaving the rest of the invocation to plan and act */
  hostListDeadline?: number;
}

const SWEEP_LEASE = 'sweep';
const SWEEP_LEASE_MS = 15 * 60 * 1000;

function policyOf(rt: Runtime, dryRun: boolean, circuitBreaker: boolean): Policy {
  const c = rt.config;
  return {
    dryRun,
    maxRetirePerRun: c.maxRetirePerRun,
    maxRetirePercent: c.maxRetirePercent,
    duplicateStaleMinutes: c.duplicateStaleMinutes,
    imdsRemediate: c.imdsRemediate,
    circuitBreaker,
  };
}

function emptyReport(rt: Runtime, trigger: Trigger, runId: string, dryRun: boolean, started: number): Report {
  return {
    trigger,
    runId,
    accountId: rt.accountId,
    dryRun,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    status: 'ok',
    regions: [],
    counts: { hosts: 0, instances: 0, linkedHosts: 0, foreignHosts: 0, planned: 0, done: 0, failed: 0 },
    actions: [],
    findings: { published: 0, failed: 0, detailTypes: {} },
    ambiguities: [],
    foreignHostIds: [],
    ignoredInstanceIds: [],
    unknownInstanceIds: [],
    apiRetries: retriesOf(rt),
  };
}

/** Running totals of the runtime's clients; a run's report holds the difference. */
const retriesOf = (rt: Runtime) => ({ mackerel: rt.mackerel.stats.retries, ec2: rt.inventory.stats.retries });

/**
 * What to store per instance along with the claims: the sightings applied in memory by observe, the links
 * the planner found, the first time an instance was found gone, and attributes that outlived their use.
 */
function commitsOf(observed: Observed, p: Plan, nowS: number): Map<string, Omit<InstanceCommit, 'claims' | 'restores'>> {
  const stored = new Map(observed.stored.records.map((r) => [r.instanceId, r]));
  const gone = new Set(p.goneInstanceIds);
  const commits = new Map<string, Omit<InstanceCommit, 'claims' | 'restores'>>();
  for (const r of observed.observation.state.records) {
    const id = r.instanceId;
    const base = stored.get(id);
    let next = r === base ? undefined : r;
    const links = p.linkedHostIds.get(id);
    if (links && !sameSet(links, r.linkedHostIds)) next = { ...r, ...next, linkedHostIds: links };
    if (gone.has(id) && r.goneAt === undefined) next = { ...r, ...next, goneAt: nowS };
    const prune = observed.stored.stale.get(id);
    if (next || prune) commits.set(id, { instanceId: id, base, next, prune });
  }
  return commits;
}

/** Plan, then act: the executor stores sightings and links with its claims (a dry run stores nothing). */
async function planAndAct(
  rt: Runtime,
  observed: Observed,
  policy: Policy,
  report: Report,
  opts: RunOptions,
  events?: Map<string, string[]>,
) {
  const obs = observed.observation;
  const p = plan(obs, policy);
  rt.logger.info('planned', {
    actions: p.actions.length,
    circuitBreaker: p.circuitBreaker,
    ambiguities: p.ambiguities.length,
    foreignHosts: p.foreignHostIds.length,
  });
  const exec = await execute(p, rt, {
    runId: report.runId,
    dryRun: policy.dryRun,
    clock: rt.clock,
    crashAfterClaim: opts.crashAfterClaim,
    commits: commitsOf(observed, p, Math.floor(obs.now / 1000)),
    events,
    terminated: new Set(obs.instances.filter((i) => i.state === 'terminated').map((i) => i.instanceId)),
    only: opts.only,
  });
  fold(report, obs, p, exec);
}

function fold(report: Report, obs: Observation, p: Plan, exec: ExecuteResult): void {
  report.regions.push(...obs.regions);
  report.counts.hosts = Math.max(report.counts.hosts, obs.hosts.length);
  report.counts.instances += obs.instances.length;
  report.counts.linkedHosts += p.links.length;
  report.counts.foreignHosts = Math.max(report.counts.foreignHosts, p.foreignHostIds.length);
  report.actions.push(...exec.results);
  report.findings.published += exec.findings.published;
  report.findings.failed += exec.findings.failed;
  for (const f of exec.findings.planned) {
    report.findings.detailTypes[f.detailType] = (report.findings.detailTypes[f.detailType] ?? 0) + 1;
  }
  report.ambiguities.push(...p.ambiguities);
  report.foreignHostIds = [...new Set([...report.foreignHostIds, ...p.foreignHostIds])];
  report.ignoredInstanceIds.push(...p.ignoredInstanceIds);
  report.unknownInstanceIds.push(...p.unknownInstanceIds);
  if (p.circuitBreaker) report.circuitBreaker = p.circuitBreaker;
}

function finish(rt: Runtime, report: Report, started: number): Report {
  report.durationMs = rt.clock() - started;
  const now = retriesOf(rt);
  report.apiRetries = {
    mackerel: now.mackerel - report.apiRetries.mackerel,
    ec2: now.ec2 - report.apiRetries.ec2,
  };
  report.counts.planned = report.actions.length;
  report.counts.done = report.actions.filter((a) => a.outcome === 'done').length;
  report.counts.failed = report.actions.filter((a) => a.outcome === 'failed').length;
  if (report.status !== 'skipped' && (report.counts.failed > 0 || report.regions.some((r) => !r.ok))) {
    report.status = 'partial';
  }
  return report;
}

/** A run that fails outright (Mackerel or DynamoDB down, a response of the wrong shape) says so on the bus. */
async function reportingFailure<T>(
  rt: Runtime,
  trigger: Trigger,
  dryRun: boolean,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!dryRun) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      await rt.publisher
        .publish([{ detailType: 'Reconcile Failed', detail: { trigger, accountId: rt.accountId, error } }])
        .catch((pubErr: unknown) =>
          rt.logger.error('could not publish Reconcile Failed', { error: String(pubErr) }),
        );
    }
    throw e;
  }
}

/** The scheduled sweep: the whole fleet, under a lease so two sweeps never overlap. */
export function runSweep(rt: Runtime, opts: RunOptions & { regions?: string[] }): Promise<Report> {
  return reportingFailure(rt, opts.trigger, opts.dryRun ?? rt.config.dryRun, () => sweep(rt, opts));
}

async function sweep(rt: Runtime, opts: RunOptions & { regions?: string[] }): Promise<Report> {
  const dryRun = opts.dryRun ?? rt.config.dryRun;
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), dryRun, started);
  const regions = opts.regions ?? rt.config.regions;
  // A dry run writes nothing, so it needs no lease and may overlap a real sweep.
  if (!dryRun && !(await rt.store.acquireLease(SWEEP_LEASE, report.runId, started, SWEEP_LEASE_MS))) {
    report.status = 'skipped';
    report.skipped = 'another sweep holds the lease';
    return finish(rt, report, started);
  }
  try {
    const observed = await observeFleet(rt, regions, { now: started, hostListDeadline: opts.hostListDeadline });
    await planAndAct(rt, observed, policyOf(rt, dryRun, true), report, opts);
  } finally {
    if (!dryRun) await rt.store.releaseLease(SWEEP_LEASE, report.runId);
  }
  return finish(rt, report, started);
}

/** Given instance ids (a replay): a targeted look-up in their regions, then the same planner. */
export function runInstances(rt: Runtime, instanceIds: string[], opts: RunOptions): Promise<Report> {
  return reportingFailure(rt, opts.trigger, opts.dryRun ?? rt.config.dryRun, () =>
    instances(rt, instanceIds, opts),
  );
}

async function instances(rt: Runtime, instanceIds: string[], opts: RunOptions): Promise<Report> {
  const dryRun = opts.dryRun ?? rt.config.dryRun;
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), dryRun, started);
  const observed = await observeInstances(
    rt,
    instanceIds.map((instanceId) => ({ instanceId })),
    rt.config.regions,
    { now: started, hostListDeadline: opts.hostListDeadline },
  );
  await planAndAct(rt, observed, policyOf(rt, dryRun, false), report, opts);
  return finish(rt, report, started);
}

/**
 * State-change events, level-triggered: an event only says which instance to look at. Events from another
 * account, already handled, or older than the state already known change nothing.
 */
export async function runEvents(
  rt: Runtime,
  events: Ec2StateChangeEvent[],
  opts: RunOptions,
): Promise<Report> {
  const dryRun = opts.dryRun ?? rt.config.dryRun;
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), dryRun, started);
  report.events = [];
  const ordered = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const event of ordered) {
    const instanceId = event.detail['instance-id'];
    const outcome: EventOutcome = {
      eventId: event.id,
      instanceId,
      state: event.detail.state,
      outcome: 'reconciled',
    };
    report.events.push(outcome);
    if (event.account !== rt.accountId) {
      outcome.outcome = 'foreign-account';
      outcome.note = `event from account ${event.account}, this is ${rt.accountId}`;
      continue;
    }
    const loaded: InstanceState = await rt.store.loadInstances([instanceId], Math.floor(rt.clock() / 1000));
    if (loaded.events.has(`${instanceId}#${event.id}`)) {
      outcome.outcome = 'duplicate';
      continue;
    }
    const eventTime = Math.floor(Date.parse(event.time) / 1000);
    const record = loaded.records.find((r) => r.instanceId === instanceId);
    // Out of order: a newer, different state is already known. (An old event for the state already recorded
    // still gets a fresh look: a run that recorded it may have failed or been held by the circuit breaker.)
    if (record && eventTime < record.stateTime && record.state !== event.detail.state) {
      outcome.outcome = 'stale';
      outcome.note = `event of ${event.time} is older than the state known since ${new Date(record.stateTime * 1000).toISOString()}`;
      continue;
    }
    const target: Target = { instanceId, region: event.region, eventState: event.detail.state, eventTime };
    const observeOpts = { now: rt.clock(), hostListDeadline: opts.hostListDeadline };
    const observed = await observeInstances(rt, [target], rt.config.regions, observeOpts, loaded);
    // The event is marked handled with the completions, unless an action on its instance failed.
    await planAndAct(rt, observed, policyOf(rt, dryRun, false), report, opts, new Map([[instanceId, [event.id]]]));
  }
  return finish(rt, report, started);
}
