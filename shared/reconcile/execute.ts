/**
 * Act: perform a plan's actions exactly once each. Every side effect is claimed in the ledger first and
 * marked done after; a failure gives the claim back so the next run retries it, and a run killed half-way
 * leaves a claim whose lease runs out. Retirements are re-checked against EC2 right before they happen.
 */
import type { Ec2Inventory } from '../ec2/inventory.js';
import type { Finding, FindingsPublisher } from '../findings/publish.js';
import {
  BULK_RETIRE_LIMIT,
  BULK_STATUS_LIMIT,
  CHECK_REPORT_LIMIT,
  type MackerelClient,
} from '../mackerel/client.js';
import type { CheckReport, HostStatus } from '../mackerel/schemas.js';
import type { StateStore } from '../state/store.js';
import { chunk, groupBy, mapLimit } from '../util/concurrency.js';
import type { Action, Plan, ReportCheckAction, RetireAction, SetStatusAction } from './types.js';

export type Outcome =
  | 'done'
  | 'planned' // dry run
  | 'already-done'
  | 'in-progress'
  | 'blocked'
  | 'deferred'
  | 'failed';

export interface ActionResult {
  key: string;
  kind: Action['kind'];
  instanceId: string;
  hostId?: string;
  outcome: Outcome;
  reason: string;
  detail?: Record<string, unknown>;
  error?: string;
}

export interface ExecuteDeps {
  mackerel: MackerelClient;
  inventory: Ec2Inventory;
  store: StateStore;
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
): Pick<ActionResult, 'key' | 'kind' | 'instanceId' | 'hostId' | 'reason' | 'detail'> {
  const base = { key: a.key, kind: a.kind, instanceId: a.instanceId, reason: a.reason };
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

  // 1. Claim.
  const claimed: Action[] = [];
  await mapLimit(plan.actions, 16, async (a) => {
    if (STATE_ONLY.has(a.kind)) return void claimed.push(a);
    const c = await deps.store.claim(a.key, opts.runId, opts.clock(), leaseMs);
    if (c.claimed) claimed.push(a);
    else settle(a, c.by === 'done' ? 'already-done' : 'in-progress');
  });
  if (opts.crashAfterClaim) throw new SimulatedCrash('simulated Lambda timeout after claiming');
  const order = new Map(plan.actions.map((a, i) => [a.key, i]));
  claimed.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));

  const fail = async (actions: readonly Action[], e: unknown, outcome: Outcome = 'failed') => {
    for (const a of actions) settle(a, outcome, errorText(e));
    await mapLimit(
      actions.filter((a) => !STATE_ONLY.has(a.kind)),
      16,
      (a) => deps.store.release(a.key, opts.runId),
    );
  };
  const succeed = (actions: readonly Action[]) => {
    for (const a of actions) settle(a, 'done');
  };
  const of = <K extends Action['kind']>(kind: K) =>
    claimed.filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);

  // 2. Merge roles onto canonical hosts (before their duplicates may be retired).
  await mapLimit(of('merge-roles'), 8, async (a) => {
    try {
      await deps.mackerel.updateRoleFullnames(a.hostId, a.roleFullnames);
      succeed([a]);
    } catch (e) {
      await fail([a], e);
    }
  });

  // 3. Status changes, one bulk call per target status and 30 hosts; the memo is written before the poweroff.
  // A call per batch, so a failed batch gives back only its own claims: the batches before it are done.
  const statusBatches = [...groupBy<SetStatusAction, HostStatus>(of('set-status'), (a) => a.to)].flatMap(
    ([to, byTarget]) => chunk(byTarget, BULK_STATUS_LIMIT).map((group) => [to, group] as const),
  );
  for (const [to, group] of statusBatches) {
    try {
      await mapLimit(
        group.filter((a) => a.remember),
        16,
        (a) =>
          deps.store.putRestore({
            instanceId: a.instanceId,
            hostId: a.hostId,
            status: a.remember as HostStatus,
            setAt: Math.floor(opts.clock() / 1000),
          }),
      );
      await deps.mackerel.updateHostStatuses(
        group.map((a) => a.hostId),
        to,
      );
      await mapLimit(
        group.filter((a) => a.restoring),
        16,
        (a) => deps.store.deleteRestore(a.instanceId, a.hostId),
      );
      succeed(group);
    } catch (e) {
      await fail(group, e);
    }
  }

  // 4. Check reports, ≤ 100 a call, one call per batch for the same reason.
  for (const checks of chunk(of('report-check'), CHECK_REPORT_LIMIT)) {
    const at = Math.floor(opts.clock() / 1000);
    const reports: CheckReport[] = checks.map((a: ReportCheckAction) => ({
      source: { type: 'host', hostId: a.hostId },
      name: a.name,
      status: a.status,
      message: a.message.slice(0, 1024),
      occurredAt: at,
    }));
    try {
      await deps.mackerel.postCheckReports(reports);
      await mapLimit(checks, 16, (a) =>
        deps.store.putCheck({
          instanceId: a.instanceId,
          hostId: a.hostId,
          name: a.name,
          status: a.status,
          changedAt: at,
        }),
      );
      succeed(checks);
    } catch (e) {
      await fail(checks, e);
    }
  }

  // 5. IMDS remediation (the API takes one instance a call).
  await mapLimit(of('enable-imds'), 4, async (a) => {
    try {
      await deps.inventory.enableMetadataEndpoint(a.region, a.instanceId);
      succeed([a]);
    } catch (e) {
      await fail([a], e);
    }
  });

  // 6. Retirements: dependencies, then a fresh look at EC2, then bulk-retire.
  const retires: RetireAction[] = [];
  for (const a of of('retire')) {
    const dep = a.dependsOn ? results.get(a.dependsOn) : undefined;
    if (a.dependsOn && dep?.outcome !== 'done' && dep?.outcome !== 'already-done') {
      await fail([a], new Error(`waiting for ${a.dependsOn}`), 'deferred');
    } else retires.push(a);
  }
  const cleared = await recheckRetirements(retires, deps, fail);
  // One bulk call per 30 hosts, so a failed batch gives back only its own claims.
  for (const batch of chunk(cleared, BULK_RETIRE_LIMIT)) {
    try {
      await deps.mackerel.retireHosts(batch.map((a) => a.hostId));
      succeed(batch);
    } catch (e) {
      await fail(batch, e);
    }
  }

  // 7. Memos that mean nothing any more.
  await mapLimit(of('forget-memo'), 16, async (a) => {
    const dep = a.dependsOn ? results.get(a.dependsOn)?.outcome : undefined;
    if (a.dependsOn && dep !== 'done' && dep !== 'already-done') {
      return void settle(a, 'deferred', `waiting for ${a.dependsOn}`);
    }
    try {
      if (a.memo === 'restore') await deps.store.deleteRestore(a.instanceId, a.hostId);
      else await deps.store.deleteCheck(a.instanceId, a.memo, a.hostId);
      succeed([a]);
    } catch (e) {
      await fail([a], e);
    }
  });

  // 8. Record completions, then publish what happened.
  const done = claimed.filter((a) => results.get(a.key)?.outcome === 'done');
  await mapLimit(
    done.filter((a) => !STATE_ONLY.has(a.kind)),
    16,
    (a) => deps.store.complete(a.key, opts.runId, opts.clock()),
  );
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
  fail: (actions: readonly Action[], e: unknown, outcome?: Outcome) => Promise<void>,
): Promise<RetireAction[]> {
  const cleared: RetireAction[] = [];
  // Duplicate merges need no EC2 look: their instance is running and keeps its canonical host.
  cleared.push(...retires.filter((a) => a.retireReason === 'duplicate-stale'));
  const byRegion = groupBy(
    retires.filter((a) => a.retireReason !== 'duplicate-stale'),
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
        await fail([a], new Error(`instance ${a.instanceId} is ${alive.get(a.instanceId)} again`), 'blocked');
      }
    } catch (e) {
      await fail(group, new Error(`re-check of ${region} failed: ${errorText(e)}`), 'blocked');
    }
  }
  return cleared;
}
