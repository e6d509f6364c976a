/**
 * One reconciliation run: observe → plan → act → report. The three handlers call these and nothing else.
 */
import { randomUUID } from 'node:crypto';
import { type AnnotatedHost, buildAnnotations, verbOf } from './annotations.js';
import { type ActionResult, type ExecuteResult, execute } from './execute.js';
import type { InstanceStateEvent, TaskStateEvent, UnreadableHost } from './model.js';
import { observeTaskEvent } from './observe-task-event.js';
import { type ObserveDeps, type Observed, observeFleet, observeInstances, type Target } from './observe.js';
import { planAlertClosures } from './alerts.js';
import { plan } from './plan.js';
import { type InstanceCommit, type LedgerState, portsOf, type RunContext } from './ports.js';
import { sameSet } from './record.js';
import type { Plan, Policy, RegionStatus } from './types.js';

export type Trigger = 'instance-state-change' | 'task-state-change' | 'sweep' | 'replay' | 'cli';

export interface EventOutcome {
  eventId: string;
  instanceId: string;
  state: string;
  /** `unknown`: EC2 could not be read for it, or does not know it yet; the event stays unhandled */
  outcome: 'reconciled' | 'duplicate' | 'unknown' | 'foreign-account' | 'ignored';
  note?: string;
  /** an early signal (the instance was marked terminating) */
  signal?: string;
  /** an ECS task event: its task (`instanceId` holds the same ARN) */
  taskArn?: string;
}

/** Who decided the run is dry: the deployment's DRY_RUN, the request (payload, `plan`), or nobody. */
export type DryRunSource = 'environment' | 'request' | 'default';

export interface Report {
  trigger: Trigger;
  runId: string;
  accountId: string;
  dryRun: boolean;
  dryRunDecidedBy: DryRunSource;
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
    /** retirements a guard (the circuit breaker) held back: in `actions` with outcome `held` */
    held: number;
    done: number;
    failed: number;
  };
  actions: ActionResult[];
  findings: { published: number; failed: number; detailTypes: Record<string, number> };
  ambiguities: Plan['ambiguities'];
  foreignHostIds: string[];
  ignoredInstanceIds: string[];
  unknownInstanceIds: string[];
  /** hosts of the wrong shape, left untouched: the rest of the organisation was reconciled */
  unreadableHosts: UnreadableHost[];
  /** what made the run incomplete (a region EC2 could not be read for, a failed action), one line each */
  errors: string[];
  /** the whole host list, when the run read it: how many hosts, how many bytes, how long (a sweep) */
  hostList?: { hosts: number; bytes: number; durationMs: number };
  circuitBreaker?: Plan['circuitBreaker'];
  events?: EventOutcome[];
  /** requests this run had to repeat (429, 5xx, throttling), per API */
  apiRetries: { mackerel: number; ec2: number; alertmanager?: number };
  /** which backend did what: actions per backend and outcome (only backends that had actions) */
  backends?: Partial<Record<'mackerel' | 'alertmanager', { planned: number; done: number; failed: number }>>;
  /**
   * graph annotations made for the hosts this run retired or powered off, one per service; a failed post is also
   * in `errors` and fails nothing else. Absent when there was nothing to mark, in a dry run, or switched off.
   */
  annotations?: AnnotationsReport;
  /** ECS tasks opted out by their tag, and tasks whose state could not be read (their hosts are left alone) */
  ignoredTaskArns?: string[];
  unknownTaskArns?: string[];
  /** what a person should look at though nothing failed (an empty region, an id EC2 does not know), one line each */
  warnings?: string[];
  /** given instance ids (replay, `--instance`) EC2 did not return, with the regions it was asked in */
  notFoundInstances?: { instanceId: string; regions: string[] }[];
}

export interface AnnotationsReport {
  posted: { service: string; id: string; title: string }[];
  failed: { service: string; error: string }[];
  /** hosts retired or powered off that belong to no service: no graph to mark */
  hostsWithoutService: string[];
}

export interface RunOptions {
  /** asked for by the request; `DRY_RUN=true` in the environment wins over `false` */
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

function policyOf(rt: RunContext, dryRun: boolean, circuitBreaker: boolean): Policy {
  const c = rt.config;
  return {
    dryRun,
    maxRetirePerRun: c.maxRetirePerRun,
    maxRetirePercent: c.maxRetirePercent,
    duplicateStaleMinutes: c.duplicateStaleMinutes,
    imdsRemediate: c.imdsRemediate,
    circuitBreaker,
    ...healthPolicy(c),
    terminatingHoldMinutes: c.terminatingHoldMinutes,
    closeAlerts: rt.alerts !== undefined,
  };
}

/**
 * A dry-run deployment stays dry whatever a request says: a request can only ask for more caution.
 * (A replay payload with `"dryRun": false` must not be a back door around `DRY_RUN=true`.)
 */
export function resolveDryRun(rt: RunContext, requested: boolean | undefined): { dryRun: boolean; by: DryRunSource } {
  if (rt.config.dryRun) return { dryRun: true, by: 'environment' };
  if (requested === true) return { dryRun: true, by: 'request' };
  return { dryRun: false, by: 'default' };
}

function emptyReport(rt: RunContext, trigger: Trigger, runId: string, requested: boolean | undefined, started: number): Report {
  const dry = resolveDryRun(rt, requested);
  return {
    trigger,
    runId,
    accountId: rt.accountId,
    dryRun: dry.dryRun,
    dryRunDecidedBy: dry.by,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    status: 'ok',
    regions: [],
    counts: { hosts: 0, instances: 0, linkedHosts: 0, foreignHosts: 0, planned: 0, held: 0, done: 0, failed: 0 },
    actions: [],
    findings: { published: 0, failed: 0, detailTypes: {} },
    ambiguities: [],
    foreignHostIds: [],
    ignoredInstanceIds: [],
    unknownInstanceIds: [],
    unreadableHosts: [],
    errors: [],
    apiRetries: retriesOf(rt),
  };
}

/** What observe reads through. */
const observeDeps = (rt: RunContext): ObserveDeps => ({
  ...portsOf(rt),
  accountId: rt.accountId,
  onProgress: rt.onProgress,
  health: healthPolicy(rt.config),
});

/** The host-health settings (absent ones keep the rules' defaults). */
const healthPolicy = (c: RunContext['config']) => ({
  ...(c.silentMinutes !== undefined ? { silentMinutes: c.silentMinutes } : {}),
  ...(c.agentRepair !== undefined ? { agentRepair: c.agentRepair } : {}),
  ...(c.agentRepairHours !== undefined ? { agentRepairHours: c.agentRepairHours } : {}),
});

/** Running totals of the runtime's clients; a run's report holds the difference. */
const retriesOf = (rt: RunContext) => ({
  mackerel: rt.mackerel.stats.retries,
  ec2: rt.inventory.stats.retries,
  ...(rt.alertmanager ? { alertmanager: rt.alertmanager.stats.retries } : {}),
});

/** Actions per backend: what Mackerel and what Alertmanager were asked to do, and how it went. */
function backendsOf(actions: readonly ActionResult[]): Report['backends'] {
  const out: NonNullable<Report['backends']> = {};
  for (const a of actions) {
    if (a.outcome === 'held') continue;
    const b = (out[a.backend ?? 'mackerel'] ??= { planned: 0, done: 0, failed: 0 });
    b.planned++;
    if (a.outcome === 'done') b.done++;
    if (a.outcome === 'failed') b.failed++;
  }
  return out;
}

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

/** Runs a step as a named trace segment when the runtime traces (Lambda), else just runs it. */
const traced = <T>(rt: RunContext, name: string, fn: () => T): T => (rt.trace ? rt.trace(name, fn) : fn());

/**
 * The hosts a run retired or powered off, by report, as observed (their roles name the services to annotate).
 * Kept beside the report rather than in it: the report is public and lists host ids only.
 */
const actedOn = new WeakMap<Report, Map<string, AnnotatedHost>>();

function noteActedOn(report: Report, observed: Observed, results: readonly ActionResult[]): void {
  const ids = new Set(results.filter((r) => verbOf(r) !== undefined).map((r) => r.hostId as string));
  if (ids.size === 0) return;
  const seen = actedOn.get(report) ?? new Map<string, AnnotatedHost>();
  for (const h of observed.observation.hosts) if (ids.has(h.id)) seen.set(h.id, { id: h.id, name: h.name, roles: h.roles });
  actedOn.set(report, seen);
}

/** Plan, then act: the executor stores sightings and links with its claims (a dry run stores nothing). */
async function planAndAct(
  rt: RunContext,
  observed: Observed,
  policy: Policy,
  report: Report,
  opts: RunOptions,
  /** the events to mark handled, decided on the plan (only events whose instance could be read) */
  events?: (p: Plan) => Map<string, string[]>,
): Promise<Plan> {
  const obs = observed.observation;
  const planned = traced(rt, 'plan', () => plan(obs, policy));
  const closures = await planAlertClosures(planned, portsOf(rt).alerts, policy);
  const p = closures.plan;
  if (closures.error) {
    report.errors.push(`Mackerel alerts: ${closures.error}`);
    report.status = 'partial';
  }
  rt.logger.info('planned', {
    actions: p.actions.length,
    circuitBreaker: p.circuitBreaker,
    ambiguities: p.ambiguities.length,
    foreignHosts: p.foreignHostIds.length,
  });
  const exec = await traced(rt, 'execute', () => execute(p, portsOf(rt), {
    runId: report.runId,
    dryRun: policy.dryRun,
    clock: rt.clock,
    crashAfterClaim: opts.crashAfterClaim,
    commits: commitsOf(observed, p, Math.floor(obs.now / 1000)),
    events: events?.(p),
    terminated: new Set(obs.instances.filter((i) => i.state === 'terminated').map((i) => i.instanceId)),
    only: opts.only,
  }));
  fold(report, observed, p, exec);
  noteActedOn(report, observed, exec.results);
  return p;
}

function fold(report: Report, observed: Observed, p: Plan, exec: ExecuteResult): void {
  const obs = observed.observation;
  if (observed.hostList) report.hostList = observed.hostList;
  report.regions.push(...obs.regions);
  const seen = new Set(report.unreadableHosts.map((u) => u.id ?? u.field));
  for (const u of observed.unreadableHosts) if (!seen.has(u.id ?? u.field)) report.unreadableHosts.push(u);
  for (const r of obs.regions) if (!r.ok) report.errors.push(`EC2 ${r.region}: ${r.error ?? 'unreadable'}`);
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
  report.foreignHostIds = [...new Set([...report.foreignHostIds, ...p.foreignHostIds, ...(p.foreignTaskHostIds ?? [])])];
  if (p.ignoredTaskArns?.length) report.ignoredTaskArns = [...(report.ignoredTaskArns ?? []), ...p.ignoredTaskArns];
  if (p.unknownTaskArns?.length) report.unknownTaskArns = [...(report.unknownTaskArns ?? []), ...p.unknownTaskArns];
  report.ignoredInstanceIds.push(...p.ignoredInstanceIds);
  report.unknownInstanceIds.push(...p.unknownInstanceIds);
  if (p.circuitBreaker) report.circuitBreaker = p.circuitBreaker;
}

function finish(rt: RunContext, report: Report, started: number): Report {
  report.durationMs = rt.clock() - started;
  const now = retriesOf(rt);
  report.apiRetries = {
    mackerel: now.mackerel - report.apiRetries.mackerel,
    ec2: now.ec2 - report.apiRetries.ec2,
    ...(now.alertmanager !== undefined ? { alertmanager: now.alertmanager - (report.apiRetries.alertmanager ?? 0) } : {}),
  };
  if (report.actions.length > 0) report.backends = backendsOf(report.actions);
  report.counts.held = report.actions.filter((a) => a.outcome === 'held').length;
  report.counts.planned = report.actions.length - report.counts.held;
  report.counts.done = report.actions.filter((a) => a.outcome === 'done').length;
  report.counts.failed = report.actions.filter((a) => a.outcome === 'failed').length;
  for (const a of report.actions) {
    if (a.outcome === 'failed') report.errors.push(`${a.kind} ${a.hostId ?? a.instanceId}: ${a.error ?? 'failed'}`);
  }
  if (report.status !== 'skipped' && (report.counts.failed > 0 || report.regions.some((r) => !r.ok))) {
    report.status = 'partial';
  }
  return report;
}

/**
 * After acting: one graph annotation per service whose hosts this run retired or powered off (never in a dry run,
 * not with GRAPH_ANNOTATIONS=false). A post that fails is reported and logged; it undoes and fails nothing else.
 */
async function annotate(rt: RunContext, report: Report): Promise<Report> {
  const hosts = actedOn.get(report);
  actedOn.delete(report);
  const sink = rt.annotations;
  if (report.dryRun || rt.config.graphAnnotations === false || sink === undefined || hosts === undefined) return report;
  const span = { from: Math.floor(Date.parse(report.startedAt) / 1000), to: Math.floor(rt.clock() / 1000) };
  const { annotations, withoutService } = buildAnnotations(report.actions, hosts, span);
  const out: AnnotationsReport = { posted: [], failed: [], hostsWithoutService: withoutService };
  await traced(rt, 'annotate', async () => {
    for (const a of annotations) {
      try {
        const { id } = await sink.postGraphAnnotation(a);
        out.posted.push({ service: a.service, id, title: a.title });
      } catch (e) {
        const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        out.failed.push({ service: a.service, error });
        report.errors.push(`graph annotation for service ${a.service}: ${error}`);
        rt.logger.warn('could not post a graph annotation', { service: a.service, error });
      }
    }
  });
  report.annotations = out;
  return report;
}

/** Publishes `Reconcile Failed` (never in a dry run); a bus that is down too is only logged. */
async function publishFailure(rt: RunContext, dryRun: boolean, detail: Record<string, unknown>): Promise<void> {
  if (dryRun) return;
  await rt.publisher
    .publish([{ detailType: 'Reconcile Failed', detail: { accountId: rt.accountId, ...detail } }])
    .catch((pubErr: unknown) => rt.logger.error('could not publish Reconcile Failed', { error: String(pubErr) }));
}

/** A run that fails outright (Mackerel or DynamoDB down, a response of the wrong shape) says so on the bus. */
async function reportingFailure<T>(
  rt: RunContext,
  trigger: Trigger,
  requested: boolean | undefined,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    await publishFailure(rt, resolveDryRun(rt, requested).dryRun, { trigger, error });
    throw e;
  }
}

/** The scheduled sweep: the whole fleet, under a lease so two sweeps never overlap. */
export function runSweep(rt: RunContext, opts: RunOptions & { regions?: string[] }): Promise<Report> {
  return reportingFailure(rt, opts.trigger, opts.dryRun, () => sweep(rt, opts).then((r) => annotate(rt, r)));
}

async function sweep(rt: RunContext, opts: RunOptions & { regions?: string[] }): Promise<Report> {
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), opts.dryRun, started);
  const { dryRun } = report;
  const regions = opts.regions ?? rt.config.regions;
  // A dry run writes nothing, so it needs no lease and may overlap a real sweep.
  if (!dryRun && !(await rt.store.acquireLease(SWEEP_LEASE, report.runId, started, SWEEP_LEASE_MS))) {
    report.status = 'skipped';
    report.skipped = 'another sweep holds the lease';
    return finish(rt, report, started);
  }
  try {
    const observed = await traced(rt, 'observe', () =>
      observeFleet(observeDeps(rt), regions, {
        now: started,
        hostListDeadline: opts.hostListDeadline,
      }),
    );
    await planAndAct(rt, observed, policyOf(rt, dryRun, true), report, opts);
    warnEmptyRegions(report, observed);
  } finally {
    if (!dryRun) await rt.store.releaseLease(SWEEP_LEASE, report.runId);
  }
  return finish(rt, report, started);
}

/** Given instance ids (a replay): a targeted look-up in their regions, then the same planner. */
export function runInstances(rt: RunContext, instanceIds: string[], opts: RunOptions): Promise<Report> {
  return reportingFailure(rt, opts.trigger, opts.dryRun, () =>
    instances(rt, instanceIds, opts).then((r) => annotate(rt, r)),
  );
}

async function instances(rt: RunContext, instanceIds: string[], opts: RunOptions): Promise<Report> {
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), opts.dryRun, started);
  const observed = await traced(rt, 'observe', () =>
    observeInstances(
      observeDeps(rt),
      instanceIds.map((instanceId) => ({ instanceId })),
      rt.config.regions,
      { now: started, hostListDeadline: opts.hostListDeadline },
    ),
  );
  const p = await planAndAct(rt, observed, policyOf(rt, report.dryRun, false), report, opts);
  for (const id of instanceIds) {
    const why = unsettled(observed, p, id);
    if (why !== undefined && !report.unknownInstanceIds.includes(id)) report.unknownInstanceIds.push(id);
    if (why !== undefined && !why.lookFailed) warnNotFound(report, id, rt.config.regions);
  }
  return finish(rt, report, started);
}

/** A given id EC2 did not return: said per id, so a mistyped one is never a silent no-op. */
function warnNotFound(report: Report, instanceId: string, regions: readonly string[]): void {
  (report.notFoundInstances ??= []).push({ instanceId, regions: [...regions] });
  (report.warnings ??= []).push(`${instanceId} is not known to EC2 in ${regions.join(', ')}: nothing done`);
}

/** A configured region where EC2 shows no instance and the store knows none: a wrong region or credentials? */
function warnEmptyRegions(report: Report, observed: Observed): void {
  const known = new Set(observed.stored.records.map((r) => r.region));
  for (const r of observed.observation.regions) {
    if (!r.ok || r.instanceCount > 0 || known.has(r.region)) continue;
    (report.warnings ??= []).push(
      `EC2 shows no instances in ${r.region} and the state table knows none there: ` +
        'check REGIONS and that the credentials reach this account and region',
    );
  }
}

/**
 * Why an instance's look settled nothing: a region EC2 could not be read for (`lookFailed`: loud, a failure), or
 * an id EC2 does not know (eventual consistency: quiet, the sweep looks again).
 */
function unsettled(observed: Observed, p: Plan, instanceId: string): { note: string; lookFailed: boolean } | undefined {
  const obs = observed.observation;
  if (obs.instances.some((i) => i.instanceId === instanceId) || p.goneInstanceIds.includes(instanceId)) {
    return undefined;
  }
  const failed = obs.regions.filter((r) => !r.ok);
  if (failed.length > 0) {
    return { note: failed.map((r) => `EC2 ${r.region} could not be read: ${r.error}`).join('; '), lookFailed: true };
  }
  const note = obs.notFound.includes(instanceId)
    ? 'DescribeInstances answered NotFound and never returned this instance before (it may be too new): nothing done'
    : 'DescribeInstances did not return this instance (EC2 may not show it yet): nothing done';
  return { note, lookFailed: false };
}

/**
 * State-change events, level-triggered: an event only says which instance to look at, and every event not
 * yet handled gets a fresh look (its `time` never suppresses one: what EC2 says now decides). An event is
 * marked handled only when its instance was read and none of its actions failed, so a redelivery or a replay
 * of an event whose look failed still acts; such a run publishes `Reconcile Failed`.
 */
export function runEvents(rt: RunContext, events: InstanceStateEvent[], opts: RunOptions): Promise<Report> {
  return reportingFailure(rt, opts.trigger, opts.dryRun, () => eventsRun(rt, events, opts).then((r) => annotate(rt, r)));
}

async function eventsRun(rt: RunContext, events: InstanceStateEvent[], opts: RunOptions): Promise<Report> {
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), opts.dryRun, started);
  const outcomes: EventOutcome[] = [];
  report.events = outcomes;
  const failedLooks: EventOutcome[] = [];
  const ordered = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const event of ordered) {
    const { outcome, lookFailed } = await reconcileEvent(rt, event, report, opts);
    outcomes.push(outcome);
    if (lookFailed) failedLooks.push(outcome);
  }
  finish(rt, report, started);
  // A failed action publishes Reconcile Failed from the executor; a failed look has no action to do it.
  if (failedLooks.length > 0) {
    await publishFailure(rt, report.dryRun, {
      trigger: opts.trigger,
      error: report.errors.join('; '),
      eventIds: failedLooks.map((o) => o.eventId),
      instanceIds: [...new Set(failedLooks.map((o) => o.instanceId))],
    });
  }
  return report;
}

async function reconcileEvent(
  rt: RunContext,
  event: InstanceStateEvent,
  report: Report,
  opts: RunOptions,
): Promise<{ outcome: EventOutcome; lookFailed?: boolean }> {
  const instanceId = event.detail['instance-id'];
  const outcome: EventOutcome = {
    eventId: event.id,
    instanceId,
    state: event.signal ?? event.detail.state,
    outcome: 'reconciled',
    ...(event.signal ? { signal: event.signal } : {}),
  };
  if (event.account !== rt.accountId) {
    const note = `event from account ${event.account}, this is ${rt.accountId}`;
    return { outcome: { ...outcome, outcome: 'foreign-account', note } };
  }
  const loaded: LedgerState = await rt.store.loadInstances([instanceId], Math.floor(rt.clock() / 1000));
  if (loaded.events.has(`${instanceId}#${event.id}`)) return { outcome: { ...outcome, outcome: 'duplicate' } };
  const target: Target = { instanceId, region: event.region, eventState: event.detail.state };
  const observeOpts = { now: rt.clock(), hostListDeadline: opts.hostListDeadline };
  const observed = await traced(rt, 'observe', () =>
    observeInstances(observeDeps(rt), [target], rt.config.regions, observeOpts, loaded),
  );
  if (event.signal) observed.observation.terminating = { [instanceId]: event.signal };
  let why: ReturnType<typeof unsettled>;
  await planAndAct(rt, observed, policyOf(rt, report.dryRun, false), report, opts, (p) => {
    why = unsettled(observed, p, instanceId);
    // Handled only once the instance was read; the executor still withholds it if an action fails.
    return why === undefined ? new Map([[instanceId, [event.id]]]) : new Map();
  });
  if (why === undefined) return { outcome };
  // The planner lists only instances it knows of; one EC2 never showed is unknown all the same.
  if (!report.unknownInstanceIds.includes(instanceId)) report.unknownInstanceIds.push(instanceId);
  return { outcome: { ...outcome, outcome: 'unknown', note: why.note }, lookFailed: why.lookFailed };
}

/**
 * ECS task state-change events, level-triggered like instance events: only `lastStatus: STOPPED` gets a look
 * (other statuses are reported `ignored`: a running task needs nothing, the sweep covers the rest). The look
 * re-checks the task with DescribeTasks and finds its hosts by name (mackerel-container-agent names the host by
 * the task id) without listing the organisation. No event de-duplication: the ledger claims each retirement
 * once under the task's item, so a repeated event, or a sweep first, retires nothing twice.
 */
export function runTaskEvents(rt: RunContext, events: TaskStateEvent[], opts: RunOptions): Promise<Report> {
  return reportingFailure(rt, opts.trigger, opts.dryRun, () => taskEventsRun(rt, events, opts));
}

async function taskEventsRun(rt: RunContext, events: TaskStateEvent[], opts: RunOptions): Promise<Report> {
  const started = rt.clock();
  const report = emptyReport(rt, opts.trigger, randomUUID(), opts.dryRun, started);
  const outcomes: EventOutcome[] = [];
  report.events = outcomes;
  const ordered = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const event of ordered) outcomes.push(await reconcileTaskEvent(rt, event, report, opts));
  finish(rt, report, started);
  const failedLooks = outcomes.filter((o) => o.outcome === 'unknown');
  if (failedLooks.length > 0) {
    await publishFailure(rt, report.dryRun, {
      trigger: opts.trigger,
      error: failedLooks.map((o) => o.note).join('; '),
      eventIds: failedLooks.map((o) => o.eventId),
      taskArns: failedLooks.map((o) => o.taskArn),
    });
  }
  return report;
}

async function reconcileTaskEvent(rt: RunContext, event: TaskStateEvent, report: Report, opts: RunOptions): Promise<EventOutcome> {
  const taskArn = event.detail.taskArn;
  const outcome: EventOutcome = { eventId: event.id, instanceId: taskArn, taskArn, state: event.detail.lastStatus, outcome: 'reconciled' };
  if (event.account !== rt.accountId) {
    return { ...outcome, outcome: 'foreign-account', note: `event from account ${event.account}, this is ${rt.accountId}` };
  }
  if (event.detail.lastStatus !== 'STOPPED') {
    return { ...outcome, outcome: 'ignored', note: `lastStatus ${event.detail.lastStatus}: only STOPPED is acted on` };
  }
  const observed = await observeTaskEvent(observeDeps(rt), event, rt.config.regions, rt.clock());
  const p = await planAndAct(rt, observed, policyOf(rt, report.dryRun, false), report, opts);
  if (p.unknownTaskArns?.includes(taskArn)) {
    return { ...outcome, outcome: 'unknown', note: `DescribeTasks could not tell the state of ${taskArn}: nothing done` };
  }
  if (observed.observation.hosts.length === 0) return { ...outcome, note: 'no live host names this task' };
  return outcome;
}
