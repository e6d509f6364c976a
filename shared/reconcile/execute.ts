/**
 * Act: perform a plan's actions exactly once each. Every side effect is claimed in the ledger first and
 * marked done after; a failure gives the claim back so the next run retries it, and a run killed half-way
 * leaves a claim whose lease runs out. Retirements are re-checked against EC2 right before they happen.
 */
import type { Ec2Inventory } from '../ec2/inventory.js';
import type { FindingsPublisher } from '../findings/publish.js';
import type { MackerelClient } from '../mackerel/client.js';
import { groupBy, mapLimit } from '../util/concurrency.js';
import type { CheckReport, Finding, HostStatus } from './model.js';
import type { BulkOutcome, InstanceCommit, InstanceOutcome, Ledger } from './ports.js';
import type { Action, Plan, ReportCheckAction, RetireAction, SetStatusAction } from './types.js';

export type Outcome =
  | 'done'
  | 'planned' // dry run
  | 'already-done'
  | 'in-progress'
  | 'blocked'
  | 'deferred'
  | 'failed'
  | 'not-confirmed'; // planned now, but not in the plan a person confirmed (`ExecuteOptions.only`)

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
}

export interface ExecuteDeps {
  mackerel: MackerelClient;
  inventory: Ec2Inventory;
  store: Ledger;
  publisher: FindingsPublisher;
}

export interface ExecuteOptions {
  runId: string;
  dryRun: boolean;
  clock: () => number;
  /** how long a claim protects an action from other runs (longer than a Lambda can live) */
  leaseMs?: number;
  /** test hook: simulate a Lambda dying after its claims, before the side effects */
  crashAfterClaim?: boolean;
  /** what to record per instance with the claims (sightings, links); see StateStore.begin */
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
const STATE_ONLY = new Set<Action['kind']>(['forget-memo']);

export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

function summarize(
  a: Action,
): Pick<ActionResult, 'key' | 'kind' | 'instanceId' | 'instanceState' | 'hostId' | 'reason' | 'detail'> {
  const base = {
    key: a.key,
    kind: a.kind,
    instanceId: a.instanceId,
    ...(a.instanceState ? { instanceState: a.instanceState } : {}),
    reason: a.reason,
  };
  switch (a.kind) {
    case 'retire':
      return { ...base, hostId: a.hostId, detail: { hostName: a.hostName, retireReason: a.retireReason } };
    case 'set-status':
      return { ...base, hostId: a.hostId, detail: { hostName: a.hostName, from: a.from, to: a.to } };
    case 'merge-roles':
      return { ...base, hostId: a.hostId, detail: { roleFullnames: a.roleFullnames } };
    case 'report-check':
      return { ...base, hostId: a.hostId, detail: { name: a.name, status: a.status } };
    case 'enable-imds':
      return { ...base, detail: { region: a.region } };
    case 'forget-memo':
      return { ...base, hostId: a.hostId, detail: { memo: a.memo } };
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function execute(plan: Plan, deps: ExecuteDeps, opts: ExecuteOptions): Promise<ExecuteResult> {
  const all = [...plan.findings, ...plan.actions.flatMap((a) => a.findings)];
  if (opts.dryRun) {
    return {
      results: plan.actions.map((a) => ({ ...summarize(a), outcome: 'planned' })),
      findings: { published: 0, failed: 0, planned: all },
    };
  }
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const results = new Map<string, ActionResult>();
  const settle = (a: Action, outcome: Outcome, error?: string) =>
    results.set(a.key, { ...summarize(a), outcome, ...(error ? { error } : {}) });

  // 1. Record what was seen and claim, one conditional write per instance (only what a person confirmed,
  // when that is asked for: the rest is reported `not-confirmed` and neither claimed nor performed).
  const only = opts.only;
  if (only) for (const a of plan.actions) if (!only.has(a.key)) settle(a, 'not-confirmed');
  const confirmed = only ? plan.actions.filter((a) => only.has(a.key)) : plan.actions;
  const byInstance = groupBy(confirmed, (a) => a.instanceId);
  const ids = new Set([...(opts.commits?.keys() ?? []), ...byInstance.keys(), ...(opts.events?.keys() ?? [])]);
  const claimed: Action[] = [];
  await mapLimit([...ids], 16, async (instanceId) => {
    const actions = byInstance.get(instanceId) ?? [];
    const ledgered = actions.filter((a) => !STATE_ONLY.has(a.kind));
    const commit = opts.commits?.get(instanceId) ?? { instanceId };
    const nowMs = opts.clock();
    const restores = ledgered.flatMap((a) =>
      a.kind === 'set-status' && a.remember
        ? [
            {
              key: a.key,
              memo: { instanceId, hostId: a.hostId, status: a.remember, setAt: Math.floor(nowMs / 1000) },
            },
          ]
        : [],
    );
    const begun = await deps.store.begin(
      { ...commit, claims: ledgered.map((a) => a.key), restores },
      opts.runId,
      nowMs,
      leaseMs,
    );
    const mine = new Set(begun.claimed);
    for (const a of actions) {
      if (STATE_ONLY.has(a.kind) || mine.has(a.key)) claimed.push(a);
      else settle(a, begun.held[a.key] === 'done' ? 'already-done' : 'in-progress');
    }
  });
  if (opts.crashAfterClaim) throw new SimulatedCrash('simulated Lambda timeout after claiming');
  const order = new Map(plan.actions.map((a, i) => [a.key, i]));
  claimed.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));

  const fail = (actions: readonly Action[], e: unknown, outcome: Outcome = 'failed') => {
    for (const a of actions) settle(a, outcome, errorText(e));
  };
  const succeed = (actions: readonly Action[]) => {
    for (const a of actions) settle(a, 'done');
  };
  const settleEach = <T>(actions: readonly Action[], idOf: (a: Action) => T, res: BulkOutcome<T>) => {
    const failed = new Map(res.failed.map((f) => [f.id, f.error]));
    for (const a of actions) {
      const error = failed.get(idOf(a));
      if (error) fail([a], error);
      else succeed([a]);
    }
  };
  const of = <K extends Action['kind']>(kind: K) =>
    claimed.filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);

  // 2. Merge roles onto canonical hosts (before their duplicates may be retired).
  await mapLimit(of('merge-roles'), 8, async (a) => {
    try {
      await deps.mackerel.updateRoleFullnames(a.hostId, a.roleFullnames);
      succeed([a]);
    } catch (e) {
      fail([a], e);
    }
  });

  // 3. Status changes, one bulk call per target status (the client cuts batches of 30; the restore memos went
  // with the claims). A failed batch gives back only its own claims: the batches before it are done.
  for (const [to, group] of groupBy<SetStatusAction, HostStatus>(of('set-status'), (a) => a.to)) {
    try {
      const res = await deps.mackerel.updateHostStatuses(
        group.map((a) => a.hostId),
        to,
      );
      settleEach(group, (a) => (a as SetStatusAction).hostId, res);
    } catch (e) {
      fail(group, e);
    }
  }

  // 4. Check reports (the client cuts batches of 100), each batch settled alone for the same reason.
  const at = Math.floor(opts.clock() / 1000);
  const checks = of('report-check');
  if (checks.length > 0) {
    const reports = new Map<Action, CheckReport>(
      checks.map((a: ReportCheckAction) => [
        a,
        {
          source: { type: 'host', hostId: a.hostId },
          name: a.name,
          status: a.status,
          message: a.message.slice(0, 1024),
          occurredAt: at,
        },
      ]),
    );
    try {
      settleEach(checks, (a) => reports.get(a) as CheckReport, await deps.mackerel.postCheckReports([...reports.values()]));
    } catch (e) {
      fail(checks, e);
    }
  }

  // 5. IMDS remediation (the API takes one instance a call).
  await mapLimit(of('enable-imds'), 4, async (a) => {
    try {
      await deps.inventory.enableMetadataEndpoint(a.region, a.instanceId);
      succeed([a]);
    } catch (e) {
      fail([a], e);
    }
  });

  // 6. Retirements: dependencies, then a fresh look at EC2, then bulk-retire.
  const retires: RetireAction[] = [];
  for (const a of of('retire')) {
    const dep = a.dependsOn ? results.get(a.dependsOn) : undefined;
    if (a.dependsOn && dep?.outcome !== 'done' && dep?.outcome !== 'already-done') {
      fail([a], new Error(`waiting for ${a.dependsOn}`), 'deferred');
    } else retires.push(a);
  }
  const cleared = await recheckRetirements(retires, deps, fail, opts.terminated ?? new Set());
  // The client cuts batches of 30, so a failed batch gives back only its own claims.
  if (cleared.length > 0) {
    try {
      settleEach(cleared, (a) => (a as RetireAction).hostId, await deps.mackerel.retireHosts(cleared.map((a) => a.hostId)));
    } catch (e) {
      fail(cleared, e);
    }
  }

  // 7. Memos that mean nothing any more go with the completions, once the retirement they wait for is done.
  for (const a of of('forget-memo')) {
    const dep = a.dependsOn ? results.get(a.dependsOn)?.outcome : undefined;
    if (a.dependsOn && dep !== 'done' && dep !== 'already-done') settle(a, 'deferred', `waiting for ${a.dependsOn}`);
    else succeed([a]);
  }

  // 8. Record completions, memos and handled events (one write per instance), then publish what happened.
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
    if (results.get(a.key)?.outcome !== 'done') {
      if (!STATE_ONLY.has(a.kind)) o.released.push(a.key);
      continue;
    }
    if (!STATE_ONLY.has(a.kind)) o.done.push(a.key);
    if (a.kind === 'set-status' && a.restoring) o.forgetRestores.push(a.hostId);
    if (a.kind === 'report-check') {
      o.checks.push({ instanceId: a.instanceId, hostId: a.hostId, name: a.name, status: a.status, changedAt: at });
    }
    if (a.kind === 'forget-memo') {
      if (a.memo === 'restore') o.forgetRestores.push(a.hostId);
      else o.forgetChecks.push({ name: a.memo, hostId: a.hostId });
    }
  }
  for (const [instanceId, eventIds] of opts.events ?? []) {
    const failed = (byInstance.get(instanceId) ?? []).some((a) => results.get(a.key)?.outcome === 'failed');
    if (!failed) outcomeOf(instanceId).events.push(...eventIds);
  }
  await mapLimit([...outcomes.values()], 16, (o) => deps.store.finish(o, opts.runId, opts.clock()));
  const done = claimed.filter((a) => results.get(a.key)?.outcome === 'done');
  const toPublish: Finding[] = [...plan.findings, ...done.flatMap((a) => a.findings)];
  const failures = [...results.values()].filter((r) => r.outcome === 'failed');
  if (failures.length > 0) {
    toPublish.push({
      detailType: 'Reconcile Failed',
      detail: {
        runId: opts.runId,
        failed: failures
          .slice(0, 50)
          .map((f) => ({ key: f.key, instanceId: f.instanceId, hostId: f.hostId, error: f.error })),
        count: failures.length,
      },
    });
  }
  const pub = await deps.publisher.publish(toPublish);
  return {
    results: plan.actions.map(
      (a) => results.get(a.key) ?? { ...summarize(a), outcome: 'failed', error: 'not performed' },
    ),
    findings: { published: pub.published, failed: pub.failed.length, planned: toPublish },
  };
}

/** Never retire a host linked to a running instance: ask EC2 again right before retiring. */
async function recheckRetirements(
  retires: RetireAction[],
  deps: ExecuteDeps,
  fail: (actions: readonly Action[], e: unknown, outcome?: Outcome) => void,
  terminated: ReadonlySet<string>,
): Promise<RetireAction[]> {
  // No second look for duplicate merges (their instance is running and keeps its canonical host) nor for
  // instances EC2 answered `terminated` for in this run: termination is final and instance ids are never reused.
  const final = (a: RetireAction) =>
    a.retireReason === 'duplicate-stale' || (a.retireReason === 'instance-terminated' && terminated.has(a.instanceId));
  const cleared: RetireAction[] = retires.filter(final);
  const byRegion = groupBy(
    retires.filter((a) => !final(a)),
    (a) => a.region ?? '',
  );
  for (const [region, group] of byRegion) {
    try {
      const { found } = await deps.inventory.describe(region, [...new Set(group.map((a) => a.instanceId))]);
      const alive = new Map(
        found.filter((i) => i.state !== 'terminated').map((i) => [i.instanceId, i.state]),
      );
      const blocked = group.filter((a) => alive.has(a.instanceId));
      cleared.push(...group.filter((a) => !alive.has(a.instanceId)));
      for (const a of blocked) {
        fail([a], new Error(`instance ${a.instanceId} is ${alive.get(a.instanceId)} again`), 'blocked');
      }
    } catch (e) {
      fail(group, new Error(`re-check of ${region} failed: ${errorText(e)}`), 'blocked');
    }
  }
  return cleared;
}
