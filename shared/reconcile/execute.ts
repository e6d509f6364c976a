/**
 * Act: perform a plan's actions exactly once each, as claim → effect → commit → publish. Every side effect is
 * claimed in the ledger first and marked done after; a failure gives the claim back so the next run retries
 * it, and a run killed half-way leaves a claim whose lease runs out. What each kind of action does is its
 * effector's business (`effectors/`); this module knows no action kind.
 */
import { asError, DependencyPending, describeError, ReconcileError, SimulatedCrash } from '../errors.js';
import { groupBy, mapLimit } from '../util/concurrency.js';
import { type Backend, type EffectContext, type Settled } from './effectors/effector.js';
import { effectorOf, ORDERED } from './effectors/index.js';
import type { Finding } from './model.js';
import type { InstanceCommit, InstanceOutcome, Ports } from './ports.js';
import type { Action, Plan } from './types.js';

export { SimulatedCrash };

export type Outcome =
  | 'done'
  | 'planned' // dry run
  | 'already-done'
  | 'in-progress'
  | 'blocked'
  | 'deferred'
  | 'failed'
  | 'not-confirmed' // planned now, but not in the plan a person confirmed (`ExecuteOptions.only`)
  | 'held'; // held back by a fleet-wide guard (the circuit breaker): never performed, shown so a person sees it

export interface ActionResult {
  key: string;
  kind: Action['kind'];
  instanceId: string;
  instanceState?: Action['instanceState'];
  hostId?: string;
  outcome: Outcome;
  reason: string;
  detail?: Record<string, unknown>;
  error?: string;
  /** the class of the error (`MackerelApiError`, `RecheckBlocked`, `DependencyPending`, …) */
  errorName?: string;
  /** why an action was held back (outcome `held`) */
  heldBecause?: string;
  /** where its side effect lands */
  backend?: Backend;
}

/** What a guard held back, as results: in every report, dry run or not. */
const heldResults = (plan: Plan): ActionResult[] =>
  (plan.held ?? []).map(({ action, reason }) => ({ ...summarize(action), outcome: 'held', heldBecause: reason }));

export interface ExecuteOptions {
  runId: string;
  dryRun: boolean;
  clock: () => number;
  /** how long a claim protects an action from other runs (longer than a Lambda can live) */
  leaseMs?: number;
  /** test hook: simulate a Lambda dying after its claims, before the side effects */
  crashAfterClaim?: boolean;
  /** what to record per instance with the claims (sightings, links); see Ledger.begin */
  commits?: ReadonlyMap<string, Omit<InstanceCommit, 'claims' | 'restores'>>;
  /** state-change events to mark handled once their instance's actions did not fail */
  events?: ReadonlyMap<string, string[]>;
  /** instances EC2 itself answered `terminated` for in this run: a final state, no second look needed */
  terminated?: ReadonlySet<string>;
  /**
   * Perform only the actions with these keys: the plan a person saw and confirmed on the command line.
   * Anything planned since is reported `not-confirmed` and left for the next look.
   */
  only?: ReadonlySet<string>;
}

export interface ExecuteResult {
  results: ActionResult[];
  findings: { published: number; failed: number; planned: Finding[] };
}

const DEFAULT_LEASE_MS = 16 * 60 * 1000;
const CLAIM_CONCURRENCY = 16;

function summarize(a: Action): Omit<ActionResult, 'outcome'> {
  const { hostId, detail } = effectorOf(a).describe(a);
  return {
    key: a.key,
    kind: a.kind,
    instanceId: a.instanceId,
    ...(a.instanceState ? { instanceState: a.instanceState } : {}),
    reason: a.reason,
    ...(hostId !== undefined ? { hostId } : {}),
    detail,
    backend: effectorOf(a).backend ?? 'mackerel',
  };
}

/** The outcome of every action of one run, as it is settled. */
class Results {
  readonly #byKey = new Map<string, ActionResult>();

  settle(a: Action, outcome: Outcome, error?: unknown): void {
    this.#byKey.set(a.key, { ...summarize(a), outcome, ...(error === undefined ? {} : describeError(error)) });
  }
  outcome(key: string): Outcome | undefined {
    return this.#byKey.get(key)?.outcome;
  }
  isDone(key: string): boolean {
    return this.outcome(key) === 'done';
  }
  failures(): ActionResult[] {
    return [...this.#byKey.values()].filter((r) => r.outcome === 'failed');
  }
  /** in plan order; an action nobody settled is reported, never dropped */
  of(plan: Plan): ActionResult[] {
    const missing = new ReconcileError('not performed');
    return plan.actions.map((a) => this.#byKey.get(a.key) ?? { ...summarize(a), outcome: 'failed', ...describeError(missing) });
  }
}

export async function execute(plan: Plan, ports: Ports, opts: ExecuteOptions): Promise<ExecuteResult> {
  if (opts.dryRun) {
    return {
      results: [...plan.actions.map((a): ActionResult => ({ ...summarize(a), outcome: 'planned' })), ...heldResults(plan)],
      findings: { published: 0, failed: 0, planned: [...plan.findings, ...plan.actions.flatMap((a) => a.findings)] },
    };
  }
  const results = new Results();
  const { claimed, confirmed } = await claim(plan, ports, opts, results);
  if (opts.crashAfterClaim) throw new SimulatedCrash('simulated Lambda timeout after claiming');
  const ctx = effectContext(ports, opts);
  await effect(claimed, ctx, results);
  await commit(claimed, confirmed, ports, opts, ctx, results);
  const findings = await publish(plan, claimed, ports, opts.runId, results);
  return { results: [...results.of(plan), ...heldResults(plan)], findings };
}

function effectContext(ports: Ports, opts: ExecuteOptions): EffectContext {
  let stamp: number | undefined;
  return {
    hosts: ports.hosts,
    fleet: ports.fleet,
    stamp: () => (stamp ??= Math.floor(opts.clock() / 1000)),
    terminated: opts.terminated ?? new Set(),
    ...(ports.silences ? { silences: ports.silences } : {}),
    ...(ports.agents ? { agents: ports.agents } : {}),
    alerts: ports.alerts,
  };
}

/**
 * 1. Record what was seen and claim, one conditional write per instance (only what a person confirmed, when
 * that is asked for: the rest is reported `not-confirmed` and neither claimed nor performed). Returns the
 * actions this run may perform, in plan order.
 */
async function claim(plan: Plan, ports: Ports, opts: ExecuteOptions, results: Results) {
  const only = opts.only;
  if (only) for (const a of plan.actions) if (!only.has(a.key)) results.settle(a, 'not-confirmed');
  const confirmed = only ? plan.actions.filter((a) => only.has(a.key)) : plan.actions;
  const byInstance = groupBy(confirmed, (a) => a.instanceId);
  const ids = new Set([...(opts.commits?.keys() ?? []), ...byInstance.keys(), ...(opts.events?.keys() ?? [])]);
  const claimed = new Set<Action>();
  await mapLimit([...ids], CLAIM_CONCURRENCY, async (instanceId) => {
    const actions = byInstance.get(instanceId) ?? [];
    const ledgered = actions.filter((a) => effectorOf(a).ledgered);
    const nowMs = opts.clock();
    const restores = ledgered.flatMap((a) => {
      const memo = effectorOf(a).claimMemo?.(a, Math.floor(nowMs / 1000));
      return memo ? [{ key: a.key, memo }] : [];
    });
    const begun = await ports.ledger.begin(
      { ...(opts.commits?.get(instanceId) ?? { instanceId }), claims: ledgered.map((a) => a.key), restores },
      opts.runId,
      nowMs,
      opts.leaseMs ?? DEFAULT_LEASE_MS,
    );
    const mine = new Set(begun.claimed);
    for (const a of actions) {
      if (!effectorOf(a).ledgered || mine.has(a.key)) claimed.add(a);
      else results.settle(a, begun.held[a.key] === 'done' ? 'already-done' : 'in-progress');
    }
  });
  return { claimed: plan.actions.filter((a) => claimed.has(a)), confirmed };
}

/**
 * 2. Each effector in its registered order performs its claimed actions. An action that depends on another
 * (a duplicate's retirement on its role merge, a memo on its host's retirement) waits until that one is done.
 */
async function effect(claimed: readonly Action[], ctx: EffectContext, results: Results): Promise<void> {
  const ready = (a: Action) => {
    if (!a.dependsOn) return true;
    const dep = results.outcome(a.dependsOn);
    if (dep === 'done' || dep === 'already-done') return true;
    results.settle(a, 'deferred', new DependencyPending(a.dependsOn));
    return false;
  };
  for (const effector of ORDERED) {
    const mine = claimed.filter((a) => a.kind === effector.kind).filter(ready);
    await mapLimit(effector.batch(mine), effector.concurrency, async (batch) => {
      let settled: Settled[];
      try {
        settled = await effector.perform(batch, ctx);
      } catch (e) {
        settled = batch.map((action) => ({ action, outcome: 'failed', error: asError(e) }));
      }
      for (const s of settled) results.settle(s.action, s.outcome, 'error' in s ? s.error : undefined);
    });
  }
}

/**
 * 3. Record completions, memos and handled events (one write per instance). A claim whose action did not get
 * done is given back; an event is handled only when none of its instance's actions failed.
 */
async function commit(
  claimed: readonly Action[],
  confirmed: readonly Action[],
  ports: Ports,
  opts: ExecuteOptions,
  ctx: EffectContext,
  results: Results,
): Promise<void> {
  const outcomes = new Map<string, InstanceOutcome>();
  const outcomeOf = (instanceId: string) => {
    let o = outcomes.get(instanceId);
    if (!o) {
      o = { instanceId, done: [], released: [], checks: [], forgetRestores: [], forgetChecks: [], events: [] };
      outcomes.set(instanceId, o);
    }
    return o;
  };
  for (const a of claimed) {
    const o = outcomeOf(a.instanceId);
    const effector = effectorOf(a);
    if (!results.isDone(a.key)) {
      if (effector.ledgered) o.released.push(a.key);
      continue;
    }
    if (effector.ledgered) o.done.push(a.key);
    effector.commit?.(a, o, ctx);
  }
  const failedInstances = new Set(confirmed.filter((a) => results.outcome(a.key) === 'failed').map((a) => a.instanceId));
  for (const [instanceId, eventIds] of opts.events ?? []) {
    if (!failedInstances.has(instanceId)) outcomeOf(instanceId).events.push(...eventIds);
  }
  await mapLimit([...outcomes.values()], CLAIM_CONCURRENCY, (o) => ports.ledger.finish(o, opts.runId, opts.clock()));
}

/** 4. Publish what happened: the plan's own findings, those of done actions, and `Reconcile Failed`. */
async function publish(plan: Plan, claimed: readonly Action[], ports: Ports, runId: string, results: Results) {
  const toPublish: Finding[] = [...plan.findings, ...claimed.filter((a) => results.isDone(a.key)).flatMap((a) => a.findings)];
  const failures = results.failures();
  if (failures.length > 0) {
    toPublish.push({
      detailType: 'Reconcile Failed',
      detail: {
        runId,
        failed: failures
          .slice(0, 50)
          .map((f) => ({ key: f.key, instanceId: f.instanceId, hostId: f.hostId, error: f.error })),
        count: failures.length,
      },
    });
  }
  const pub = await ports.findings.publish(toPublish);
  return { published: pub.published, failed: pub.failed.length, planned: toPublish };
}
