/**
 * The chaos engine: plays a `Scenario` against the sandbox through the real Lambda handlers, with faults, and
 * returns what the sandbox recorded for `checks.ts` to judge.
 *
 * Time: the handlers share the container's runtime (as warm Lambda invocations do), and the engine gives it a
 * virtual clock: real time plus an offset that grows by `tickMs` each tick and jumps past the 16-minute claim
 * lease before the final sweep, so a killed handler's claims expire without waiting. Event times, host
 * creation and metric times all come from the same clock.
 *
 * One tick: the tick's EC2 changes are applied while up to `concurrency` handlers process the deliveries due
 * (and, every few ticks, a sweep runs beside them). A handler that throws (killed, or out of retries against
 * the faults) is invoked again later, twice at most, as Lambda does with asynchronous invocations.
 */
import { handler as stateChangeHandler } from '../functions/instance-state-change/handler.js';
import { handler as sweepHandler } from '../functions/sweep/handler.js';
import {
  type FakeHost,
  ec2StateChangeEvent,
  type HostMutation,
  type InstanceStateName,
  type Sandbox,
  SANDBOX_REGION,
  scheduledEvent,
  startSandbox,
} from '../sandbox/index.js';
import { sleep } from '../sandbox/http.js';
import { lambdaContext } from '../sandbox/lambda-context.js';
import { Ec2StateChangeEvent, parseInput } from '../shared/events/schemas.js';
import { SimulatedCrash } from '../shared/reconcile/execute.js';
import { type Report, runEvents, runSweep } from '../shared/reconcile/run.js';
import { resetRuntime, type Runtime, runtimeFor } from '../shared/runtime.js';
import { groupBy, mapLimit } from '../shared/util/concurrency.js';
import {
  ACCOUNT_FOREIGN,
  type ChaosHost,
  type ChaosInstance,
  DAY_S,
  type Delivery,
  generateScenario,
  keyedRandom,
  type Scenario,
  type ScenarioOptions,
  type Step,
} from './scenario.js';

/** Long enough that every claim a killed handler left (16-minute lease) has expired. */
const LEASE_EXPIRY_MS = 17 * 60_000;
/**
 * DUPLICATE_STALE_MINUTES for the run. A reporting duplicate posts a metric every tick while its instance runs;
 * while the instance is stopped it posts nothing, so the run must stay well within this much virtual time for a
 * reporting duplicate never to look silent (checked: RunTooLong).
 */
export const STALE_MINUTES = 120;
const MAX_VIRTUAL_SPAN_MS = (STALE_MINUTES - 45) * 60_000;
/** Lambda retries a failed asynchronous invocation twice. */
const LAMBDA_RETRIES = 2;

export interface ChaosOptions extends ScenarioOptions {
  /** virtual milliseconds per tick */
  tickMs?: number;
  /** handler invocations in flight at once */
  concurrency?: number;
  /** share of Mackerel calls answered 500 or 429 (half each) */
  mackerelFaultRate?: number;
  /** share of EC2 calls throttled with RequestLimitExceeded */
  ec2ThrottleRate?: number;
  onProgress?: (line: string) => void;
  /** called with the sandbox before it stops, e.g. to read the state table while debugging a failure */
  beforeStop?: (sb: Sandbox) => Promise<void>;
}

/** The state of a retired host's instance at the instant Mackerel retired it. */
export interface RetireSighting {
  hostId: string;
  instanceState: InstanceStateName | 'gone' | 'none';
  at: number;
}

export interface Tally {
  deliveries: number;
  /** deliveries of a second or third copy of an event */
  duplicateCopies: number;
  /** deliveries of an event older than one already delivered for the same instance */
  outOfOrder: number;
  foreignAccountEvents: number;
  killedHandlers: number;
  killedSweeps: number;
  /** invocations that threw for another reason (faults beyond the retry budget) */
  handlerErrors: number;
  /** re-invocations after a throw (Lambda's async retries) */
  retries: number;
  /** events that failed three times (they would go to the DLQ; the sweep is the backstop) */
  exhausted: number;
  sweeps: number;
  sweepsSkipped: number;
  sweepErrors: number;
  ticks: number;
  errorSamples: string[];
}

export interface ChaosRun {
  scenario: Scenario;
  /** the sandbox, stopped, with everything it recorded */
  sb: Sandbox;
  tally: Tally;
  retirements: RetireSighting[];
  /** the sweep after the faults stopped, and the one after it (which must find nothing to do) */
  finalSweep: Report;
  convergenceSweep: Report;
  /** Mackerel write calls, EC2 modifications and PutEvents calls made by the convergence sweep */
  convergenceWrites: number;
  /** virtual time the run covered, ms */
  virtualSpanMs: number;
  wallMs: number;
}

export class RunTooLong extends Error {
  override name = 'RunTooLong';
}

class VirtualClock {
  private offset = 0;
  readonly now = () => Date.now() + this.offset;
  advance(ms: number) {
    this.offset += ms;
  }
}

type Pending = Delivery & { attempt: number };


function fakeHost(h: ChaosHost, createdAt: number): Partial<FakeHost> & { name: string } {
  return {
    id: h.id,
    name: h.name,
    status: h.status,
    roles: structuredClone(h.roles),
    createdAt,
    ...(h.customIdentifier ? { customIdentifier: h.customIdentifier } : {}),
    meta: {
      'agent-version': '0.84.0',
      ...(h.cloudInstanceId ? { cloud: { provider: 'ec2', metadata: { 'instance-id': h.cloudInstanceId } } } : {}),
    },
    interfaces: h.ip ? [{ name: 'eth0', ipAddress: h.ip, ipv4Addresses: [`${h.ip}/16`] }] : [],
  };
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosRun> {
  const started = performance.now();
  const progress = opts.onProgress ?? (() => undefined);
  const tickMs = opts.tickMs ?? 5_000;
  const concurrency = opts.concurrency ?? 16;
  const scenario = generateScenario(opts);
  const sb = await startSandbox({ seed: opts.seed });
  const restoreSandboxEnv = sb.applyEnv();
  const extraEnv: Record<string, string> = {
    DUPLICATE_STALE_MINUTES: String(STALE_MINUTES),
    // The breaker guards against a bad inventory; here the final sweep must be free to retire whatever the
    // faults left over, so it is set out of reach (it is covered by its own tests).
    MAX_RETIRE_PER_RUN: '1000000',
    MAX_RETIRE_PERCENT: '100',
    IMDS_REMEDIATE: 'false',
    DRY_RUN: 'false',
  };
  const previousEnv = Object.fromEntries(Object.keys(extraEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extraEnv);
  resetRuntime();
  try {
    const run = await play(scenario, sb, { ...opts, tickMs, concurrency }, progress, started);
    await opts.beforeStop?.(sb);
    return run;
  } finally {
    for (const [k, v] of Object.entries(previousEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    restoreSandboxEnv();
    resetRuntime();
    await sb.stop();
  }
}

async function play(
  scenario: Scenario,
  sb: Sandbox,
  opts: ChaosOptions & { tickMs: number; concurrency: number },
  progress: (line: string) => void,
  started: number,
): Promise<ChaosRun> {
  const clock = new VirtualClock();
  const t0 = clock.now();
  const t0S = Math.floor(t0 / 1000);
  const stateChangeArn = sb.functionArn('instance-state-change');
  const sweepArn = sb.functionArn('sweep');

  // The handlers build their runtime once per container and reuse it: give that one runtime the virtual clock.
  const rt: Runtime = await runtimeFor(lambdaContext(sweepArn));
  rt.clock = clock.now;
  // Agents report on the same clock (host-silent judges their last loadavg5 against it).
  sb.mackerel.clock = clock.now;
  if ((await runtimeFor(lambdaContext(stateChangeArn))) !== rt) {
    throw new Error('the handlers do not share one runtime: the virtual clock would not reach them');
  }

  const hostsById = new Map(scenario.hosts.map((h) => [h.id, h]));
  const retirements: RetireSighting[] = [];
  sb.mackerel.onMutation = (m: HostMutation) => {
    if (m.kind !== 'retire') return;
    const owner = hostsById.get(m.hostId)?.instanceId;
    const state = owner ? (sb.ec2.instances.get(owner)?.state ?? 'gone') : 'none';
    retirements.push({ hostId: m.hostId, instanceState: state, at: clock.now() });
  };

  // --- day 0: the fleet as it was, and a first sweep that sees it (ownership, addresses, links) -------------
  for (const inst of scenario.instances.filter((i) => i.preexisting)) {
    sb.ec2.addInstance({
      instanceId: inst.instanceId,
      privateIpAddress: inst.ip,
      state: inst.initial,
      launchTime: new Date((t0S - inst.launchedDaysAgo * DAY_S) * 1000),
      tags: inst.ignored ? { 'mackerel-reconciler:ignore': 'true', Name: 'kept by hand' } : {},
      httpEndpoint: inst.imds,
    });
  }
  for (const h of scenario.hosts.filter((x) => x.appears === 'day0')) {
    sb.mackerel.addHost(fakeHost(h, t0S - h.createdSecondsAgo));
  }
  const day0 = await invokeSweep();
  if (day0.status !== 'ok') throw new Error(`the day-0 sweep did not succeed: ${JSON.stringify(day0.counts)}`);
  const c = day0.counts;
  progress(`day 0: ${c.instances} instances, ${c.hosts} hosts, ${c.done} actions`);

  // Since then: agents registered duplicate hosts (no IMDS); some went silent, some still report.
  for (const h of scenario.hosts.filter((x) => x.appears === 'drift')) {
    sb.mackerel.addHost(fakeHost(h, t0S - h.createdSecondsAgo));
    if (h.role === 'dup-silent') sb.mackerel.setLatestMetric(h.id, 'loadavg5', t0S - DAY_S, 0.1);
  }
  refreshMetrics();

  // --- faults on ---------------------------------------------------------------------------------------------
  const mackerelRate = opts.mackerelFaultRate ?? 0.3;
  const half = mackerelRate / 2;
  sb.mackerel.inject({ status: 500, probability: half });
  // The rules are tried in turn: 429 fires on the calls the 500 rule let through.
  sb.mackerel.inject({ status: 429, probability: half / (1 - half) });
  sb.ec2.throttle({ probability: opts.ec2ThrottleRate ?? 0.2 });

  // --- the run -----------------------------------------------------------------------------------------------
  const tally: Tally = {
    deliveries: 0,
    duplicateCopies: 0,
    outOfOrder: 0,
    foreignAccountEvents: 0,
    killedHandlers: 0,
    killedSweeps: 0,
    handlerErrors: 0,
    retries: 0,
    exhausted: 0,
    sweeps: 0,
    sweepsSkipped: 0,
    sweepErrors: 0,
    ticks: 0,
    errorSamples: [],
  };
  const steps = groupBy(
    scenario.instances.flatMap((inst) => inst.steps.map((step) => ({ inst, step }))),
    (x) => x.step.tick,
  );
  const lastChange = Math.max(0, ...steps.keys());
  const queue = new Map<number, Pending[]>();
  const enqueue = (tick: number, p: Pending) => queue.set(tick, [...(queue.get(tick) ?? []), p]);
  for (const d of scenario.deliveries) enqueue(d.tick, { ...d, attempt: 0 });
  const sweeps = new Map(scenario.sweeps.map((s) => [s.tick, s]));
  /** when each change was made (virtual ms), for the time of its event */
  const changedAt = new Map<string, number>();
  const lastDelivered = new Map<string, number>();

  for (let tick = 0; tick <= lastChange || queue.size > 0; tick++) {
    clock.advance(opts.tickMs);
    const tickTime = clock.now();
    if (tickTime - t0 > MAX_VIRTUAL_SPAN_MS) {
      throw new RunTooLong(`the run passed ${MAX_VIRTUAL_SPAN_MS / 60_000} virtual minutes at tick ${tick}`);
    }
    const due = queue.get(tick) ?? [];
    queue.delete(tick);
    const sweep = sweeps.get(tick);
    await Promise.all([
      applyChanges(steps.get(tick) ?? []),
      mapLimit(due, opts.concurrency, (d) => deliver(d, tick, tickTime)),
      sweep ? sweepDuringRun(sweep.kill) : undefined,
    ]);
    refreshMetrics();
    tally.ticks = tick + 1;
    if (tick % 10 === 0) {
      progress(
        `tick ${tick}: ${tally.deliveries} deliveries, ${sb.mackerel.mutations.length} host changes, ` +
          `${[...queue.values()].reduce((n, q) => n + q.length, 0)} pending`,
      );
    }
  }

  // --- faults off, leases expire, one more sweep: then the world must be right ---------------------------
  sb.mackerel.clearFaults();
  sb.ec2.throttle(null);
  clock.advance(LEASE_EXPIRY_MS);
  refreshMetrics();
  const finalSweep = await invokeSweep();
  const virtualSpanMs = clock.now() - t0;
  const writes = () =>
    sb.mackerel.writeCalls().length +
    sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances').length +
    sb.eventBridge.calls.length;
  const before = writes();
  const convergenceSweep = await invokeSweep();
  const convergenceWrites = writes() - before;
  sb.mackerel.onMutation = undefined;

  return {
    scenario,
    sb,
    tally,
    retirements,
    finalSweep,
    convergenceSweep,
    convergenceWrites,
    virtualSpanMs,
    wallMs: performance.now() - started,
  };

  // --- the parts ------------------------------------------------------------------------------------------

  function invokeSweep(): Promise<Report> {
    const id = `sweep-${clock.now()}`;
    const event = scheduledEvent({ accountId: sb.accountId, id, time: new Date(clock.now()) });
    return sweepHandler(event, lambdaContext(sweepArn)) as Promise<Report>;
  }

  async function sweepDuringRun(kill: boolean): Promise<void> {
    tally.sweeps++;
    try {
      if (kill) {
        await runSweep(rt, { trigger: 'sweep', crashAfterClaim: true });
      } else {
        const report = await invokeSweep();
        if (report.status === 'skipped') tally.sweepsSkipped++;
      }
    } catch (e) {
      if (e instanceof SimulatedCrash) tally.killedSweeps++;
      else noteError('sweep', e);
    }
  }

  /** A reporting duplicate's agent posts a metric while its instance runs (and only then). */
  function refreshMetrics(): void {
    const nowS = Math.floor(clock.now() / 1000);
    for (const h of scenario.hosts) {
      if (h.role !== 'dup-reporting' || !h.instanceId) continue;
      if (sb.ec2.instances.get(h.instanceId)?.state === 'running') {
        sb.mackerel.setLatestMetric(h.id, 'loadavg5', nowS, 0.4);
      }
    }
  }

  async function applyChanges(changes: { inst: ChaosInstance; step: Step }[]): Promise<void> {
    for (const { inst, step } of changes) {
      applyChange(inst, step);
      // Let handlers already in flight interleave with the changes, as they would against EC2.
      await sleep(keyedRandom(scenario.seed, `${inst.instanceId}@${step.tick}`) < 0.5 ? 0 : 2);
    }
  }

  function applyChange(inst: ChaosInstance, step: Step): void {
    const now = clock.now();
    if (step.to === 'forget') {
      sb.ec2.forget(inst.instanceId);
      return;
    }
    if (step.to === 'launch') {
      sb.ec2.addInstance({
        instanceId: inst.instanceId,
        privateIpAddress: inst.ip,
        state: 'pending',
        launchTime: new Date(Math.floor(now / 1000) * 1000),
        httpEndpoint: inst.imds,
      });
    } else {
      sb.ec2.setState(inst.instanceId, step.to);
    }
    changedAt.set(`${inst.instanceId}@${step.tick}`, now);
    // A launched instance's host appears once it runs (the integration, or the agent starting).
    if (step.to === 'running') {
      for (const h of scenario.hosts) {
        if (h.instanceId === inst.instanceId && h.appears === 'at-running' && !sb.mackerel.hosts.has(h.id)) {
          sb.mackerel.addHost(fakeHost(h, Math.floor(now / 1000)));
        }
      }
    }
  }

  function eventOf(d: Pending, fallbackTime: number): Ec2StateChangeEvent {
    const at = changedAt.get(`${d.instanceId}@${d.changeTick}`) ?? fallbackTime;
    const account = d.account === 'ours' ? sb.accountId : ACCOUNT_FOREIGN;
    return ec2StateChangeEvent({
      accountId: account,
      instanceId: d.instanceId,
      state: d.state,
      id: d.eventId,
      time: new Date(at),
      region: SANDBOX_REGION,
    });
  }

  async function deliver(d: Pending, tick: number, tickTime: number): Promise<void> {
    const event = eventOf(d, tickTime - opts.tickMs);
    tally.deliveries++;
    if (d.copy > 0 && d.attempt === 0) tally.duplicateCopies++;
    if (d.attempt > 0) tally.retries++;
    if (d.account === 'foreign') tally.foreignAccountEvents++;
    const time = Date.parse(event.time);
    if (time < (lastDelivered.get(d.instanceId) ?? 0)) tally.outOfOrder++;
    lastDelivered.set(d.instanceId, Math.max(time, lastDelivered.get(d.instanceId) ?? 0));
    try {
      if (d.kill) {
        // What the handler does, with the executor told to die after claiming (a Lambda timeout).
        const input = parseInput(Ec2StateChangeEvent, event, 'EC2 state-change event');
        await runEvents(rt, [input], { trigger: 'instance-state-change', crashAfterClaim: true });
      } else {
        await stateChangeHandler(event, lambdaContext(stateChangeArn));
      }
    } catch (e) {
      if (e instanceof SimulatedCrash) tally.killedHandlers++;
      else noteError('instance-state-change', e);
      if (d.attempt < LAMBDA_RETRIES) {
        const attempt = d.attempt + 1;
        const kill = keyedRandom(scenario.seed, `${d.eventId}#${d.copy}#${attempt}`) < (opts.killRate ?? 0.05);
        enqueue(tick + attempt, { ...d, attempt, kill });
      } else {
        tally.exhausted++;
      }
    }
  }

  function noteError(where: string, e: unknown): void {
    if (where === 'sweep') tally.sweepErrors++;
    else tally.handlerErrors++;
    const message = e instanceof Error ? e.message : String(e);
    if (tally.errorSamples.length < 5) tally.errorSamples.push(`${where}: ${message}`);
  }
}
