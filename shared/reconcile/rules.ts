/**
 * The planner's rules, keyed by what was observed of an owned instance (docs/design.md, "What the planner
 * decides"). A rule is a pure function of one instance's context; a state with no rule (pending,
 * shutting-down) plans nothing. A new kind of observation is a new rule and one line in `RULES`.
 */
import {
  byCodeUnit,
  checkAction,
  DUPLICATE_FIX,
  enableImdsAction,
  fill,
  forgetAction,
  IMDS_MESSAGE,
  type InstanceContext,
  mergeRolesAction,
  retireAction,
  roleFullnames,
  setStatusAction,
} from './actions.js';
import { planHealth } from './health-rules.js';
import type { Finding, Host, Instance } from './model.js';
import { holdMinutesOf, isTerminating, SIGNAL_REASON } from './terminating.js';
import type { Action, EffectiveState } from './types.js';

export type Rule = (ctx: InstanceContext) => Action[];

/** Terminated, or owned and no longer returned by EC2: every linked host is retired. */
const retireAll: Rule = (ctx) => {
  const terminated = ctx.state === 'terminated';
  const reason = terminated
    ? `instance ${ctx.instanceId} is terminated`
    : `instance ${ctx.instanceId} is no longer returned by DescribeInstances`;
  return ctx.hosts.map((h) => retireAction(ctx, h, terminated ? 'instance-terminated' : 'instance-gone', reason));
};

/** Stopping or stopped: working and standby hosts go poweroff (maintenance, or a poweroff a person set, stay). */
const powerOff: Rule = (ctx) =>
  ctx.hosts
    .filter((h) => h.status === 'working' || h.status === 'standby')
    .map((h) => setStatusAction(ctx, h, 'poweroff', `instance ${ctx.instanceId} is stopped`, false));

/**
 * Running, but an early signal says it is about to end: working and standby hosts go poweroff now, their memo
 * marked terminating so that a sweep does not restore them while the instance still runs (terminating.ts).
 */
const terminatingPowerOff: Rule = (ctx) => {
  const why = `instance ${ctx.instanceId} ${SIGNAL_REASON[ctx.terminating ?? 'spot-interruption']}`;
  return ctx.hosts
    .filter((h) => h.status === 'working' || h.status === 'standby')
    .map((h) => ({ ...setStatusAction(ctx, h, 'poweroff', why, false), terminating: true }));
};

/** Running: restore what this service powered off, merge duplicates, watch IMDS. */
const whileRunning: Rule = (ctx) => {
  const inst = ctx.instance;
  if (!inst) return [];
  if (ctx.terminating) return terminatingPowerOff(ctx);
  const restores = restoreStatuses(ctx);
  const duplicates = ctx.hosts.length >= 2 ? planDuplicates(ctx) : { actions: [], stillReporting: new Set<string>() };
  // A duplicate retired by this plan gets no more checks: a report would only leave a memo behind.
  const retiring = new Set(duplicates.actions.flatMap((a) => (a.kind === 'retire' ? [a.hostId] : [])));
  // A duplicate-host warning on a host that is no longer a reporting duplicate is closed.
  const closed = ctx.hosts
    .filter((h) => {
      const memo = ctx.checks.get(`duplicate-host#${h.id}`);
      return memo?.status === 'WARNING' && !duplicates.stillReporting.has(h.id) && !retiring.has(h.id);
    })
    .map((h) => checkAction(ctx, h, 'duplicate-host', 'OK', `host ${h.id} is no longer a duplicate`, []));
  return [
    ...restores,
    ...duplicates.actions,
    ...closed,
    ...planImds(ctx, inst, retiring),
    ...planHealth(ctx, inst, { retiring, stillReporting: duplicates.stillReporting }),
  ];
};

/** What to do, by the observed state of an owned instance. */
export const RULES: Readonly<Partial<Record<EffectiveState, Rule>>> = {
  terminated: retireAll,
  gone: retireAll,
  stopping: powerOff,
  stopped: powerOff,
  running: whileRunning,
};

/** Restore only what this service powered off; a poweroff a person set has no memo and stays. */
function restoreStatuses(ctx: InstanceContext): Action[] {
  return ctx.hosts.flatMap((h) => {
    const memo = ctx.restores.get(h.id);
    if (!memo) return [];
    // Powered off for an early signal: held while the instance still runs, restored after the hold.
    if (h.status === 'poweroff' && isTerminating(memo, ctx.nowS, holdMinutesOf(ctx.policy))) return [];
    const instanceState = ctx.state;
    if (h.status !== 'poweroff') return [forgetAction(memo.instanceId, h.id, 'restore', { instanceState })];
    const restore = setStatusAction(ctx, h, memo.status, `instance ${ctx.instanceId} is running again`, true);
    // The memo lives with the instance that powered the host off; a reused address may have re-linked it.
    if (memo.instanceId === ctx.instanceId) return [restore];
    return [restore, forgetAction(memo.instanceId, h.id, 'restore', { dependsOn: restore.key, instanceState })];
  });
}

/** The canonical host first (the one with the customIdentifier, else the oldest), then its duplicates. */
function canonicalFirst(ctx: InstanceContext): Host[] {
  const strength = new Map(ctx.links.map((l) => [l.hostId, l.strength]));
  const ci = (h: Host) => Number(strength.get(h.id) === 'custom-identifier');
  return [...ctx.hosts].sort((a, b) => ci(b) - ci(a) || a.createdAt - b.createdAt || byCodeUnit(a.id, b.id));
}

/**
 * One instance, several live hosts: the duplicates' roles go to the canonical host; a duplicate silent for
 * DUPLICATE_STALE_MINUTES is retired once the roles are merged, one still reporting is warned (once).
 */
function planDuplicates(ctx: InstanceContext): { actions: Action[]; stillReporting: Set<string> } {
  const [canonical, ...dups] = canonicalFirst(ctx);
  if (!canonical) return { actions: [], stillReporting: new Set() };
  const have = new Set(roleFullnames(canonical));
  const union = [...new Set([...have, ...dups.flatMap(roleFullnames)])].sort();
  const merge = union.length > have.size ? mergeRolesAction(ctx, canonical, dups, union) : undefined;

  const staleBefore = ctx.nowS - ctx.policy.duplicateStaleMinutes * 60;
  const lastOf = (dup: Host) => ctx.latest[dup.id] ?? dup.createdAt;
  const silent = dups.filter((dup) => lastOf(dup) < staleBefore);
  const reporting = dups.filter((dup) => lastOf(dup) >= staleBefore);
  const retirements = silent.map((dup) =>
    retireAction(ctx, dup, 'duplicate-stale', `duplicate of ${canonical.id}, silent since ${new Date(lastOf(dup) * 1000).toISOString()}`, {
      dependsOn: merge?.key,
      finding: {
        detailType: 'Duplicate Host Merged',
        detail: {
          instanceId: ctx.instanceId,
          region: ctx.region,
          hostId: dup.id,
          hostName: dup.displayName || dup.name,
          canonicalHostId: canonical.id,
          rolesMerged: union,
          silentSince: lastOf(dup),
        },
      },
    }),
  );
  const warned = reporting.filter((dup) => ctx.checks.get(`duplicate-host#${dup.id}`)?.status !== 'WARNING');
  return {
    actions: [...(merge ? [merge] : []), ...retirements, ...warnDuplicates(ctx, canonical, warned)],
    stillReporting: new Set(reporting.map((d) => d.id)),
  };
}

/** A duplicate-host warning with the fix on each newly detected duplicate; one finding for them all. */
function warnDuplicates(ctx: InstanceContext, canonical: Host, detected: readonly Host[]): Action[] {
  const message = fill(DUPLICATE_FIX, {
    INSTANCE: ctx.instanceId,
    CANONICAL: canonical.id,
    MINUTES: ctx.policy.duplicateStaleMinutes,
  });
  const finding: Finding = {
    detailType: 'Duplicate Hosts Detected',
    detail: {
      instanceId: ctx.instanceId,
      region: ctx.region,
      canonicalHostId: canonical.id,
      duplicateHostIds: detected.map((d) => d.id),
      fix: message,
    },
  };
  return detected.map((dup, i) => checkAction(ctx, dup, 'duplicate-host', 'WARNING', message, i === 0 ? [finding] : []));
}

/** IMDS disabled: a warning on each host (one finding), and the fix when IMDS_REMEDIATE is on; OK once enabled. */
function planImds(ctx: InstanceContext, inst: Instance, retiring: ReadonlySet<string>): Action[] {
  if (ctx.hosts.length === 0) return [];
  const warned = (h: Host) => ctx.checks.get(`imds-disabled#${h.id}`)?.status === 'WARNING';
  const live = ctx.hosts.filter((h) => !retiring.has(h.id));
  if (inst.httpEndpoint !== 'disabled') {
    const fixed = `instance ${ctx.instanceId} has IMDS enabled again`;
    return live.filter(warned).map((h) => checkAction(ctx, h, 'imds-disabled', 'OK', fixed, []));
  }
  const message = fill(IMDS_MESSAGE, { INSTANCE: ctx.instanceId });
  const finding: Finding = {
    detailType: 'IMDS Disabled',
    detail: {
      instanceId: ctx.instanceId,
      region: ctx.region,
      hostIds: ctx.hosts.map((x) => x.id),
      remediate: ctx.policy.imdsRemediate,
    },
  };
  const raise = live
    .filter((h) => !warned(h))
    .map((h, i) => checkAction(ctx, h, 'imds-disabled', 'WARNING', message, i === 0 ? [finding] : []));
  return ctx.policy.imdsRemediate ? [...raise, enableImdsAction(ctx)] : raise;
}
