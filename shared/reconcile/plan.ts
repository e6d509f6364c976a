/**
 * The planner: a pure function from what was observed to the actions that make Mackerel true to EC2.
 * No I/O, no clock, no environment: everything arrives in `Observation` and `Policy`.
 * DESIGN.md's "What the planner decides" and "Safety" are implemented here and only here.
 */
import { createHash } from 'node:crypto';
import { groupBy } from '../util/concurrency.js';
import { type MatchableInstance, matchHosts, strongInstanceId } from './match.js';
import type { Finding, Host, Instance } from './model.js';
import type {
  Action,
  CheckMemo,
  CheckName,
  InstanceRecord,
  Link,
  Observation,
  Plan,
  Policy,
  RestoreMemo,
  RetireAction,
} from './types.js';

export const IGNORE_TAG = 'mackerel-reconciler:ignore';

export const DUPLICATE_FIX =
  'This host duplicates the EC2 instance %INSTANCE% because mackerel-agent could not read the instance metadata (IMDS). ' +
  'Fix: enable IMDS on the instance (HttpEndpoint=enabled), delete /var/lib/mackerel-agent/id, restart mackerel-agent; ' +
  'it then reports as %CANONICAL% and this host is retired once it has been silent for %MINUTES% minutes.';

export const IMDS_MESSAGE =
  'Instance %INSTANCE% has its instance metadata service disabled (MetadataOptions.HttpEndpoint=disabled): ' +
  'mackerel-agent cannot read its instance id and registers duplicate hosts. ' +
  'Fix: aws ec2 modify-instance-metadata-options --instance-id %INSTANCE% --http-endpoint enabled';

/** The effective state of an owned instance, or undefined when it cannot be known now. */
type Effective = Instance['state'] | 'gone';

const KIND_ORDER: Record<Action['kind'], number> = {
  'merge-roles': 0,
  'set-status': 1,
  'report-check': 2,
  'enable-imds': 3,
  retire: 4,
  'forget-memo': 5,
};

const fill = (template: string, vars: Record<string, string | number>) =>
  template.replace(/%([A-Z]+)%/g, (_, k: string) => String(vars[k] ?? ''));

const roleFullnames = (host: Host): string[] =>
  Object.entries(host.roles)
    .flatMap(([service, roles]) => roles.map((r) => `${service}:${r}`))
    .sort();

const digest = (parts: readonly string[]) =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);

/** A total, locale-free order (what `Array.prototype.sort` uses by default): fast on 100k ids, same everywhere. */
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The opt-out tag: `mackerel-reconciler:ignore = true` (any case, surrounding spaces allowed). */
export const hasIgnoreTag = (tags: Record<string, string>) => (tags[IGNORE_TAG] ?? '').trim().toLowerCase() === 'true';

function isIgnored(inst: Instance | undefined, record: InstanceRecord | undefined): boolean {
  if (inst) return hasIgnoreTag(inst.tags);
  return record?.ignored ?? false;
}

/** What linking needs of an observation; metrics are fetched after it, for duplicate candidates only. */
export type LinkInput = Omit<Observation, 'latestMetricTime'>;

/** Ownership, effective state and host links: the part of planning that observe also needs. */
export function linkFleet(obs: LinkInput) {
  const live = new Map(obs.instances.map((i) => [i.instanceId, i]));
  const records = new Map(obs.state.records.map((r) => [r.instanceId, r]));
  const regionOk = new Map(obs.regions.map((r) => [r.region, r]));
  const notFound = new Set(obs.notFound);
  const targets = new Set(obs.targetIds ?? []);
  const inScope = (id: string) => obs.mode === 'fleet' || targets.has(id);

  const effective = (id: string): Effective | undefined => {
    const inst = live.get(id);
    if (inst) return inst.state;
    const rec = records.get(id);
    // Gone needs evidence: EC2 showed us the instance before (right after launch it may answer NotFound).
    if (rec?.describedAt === undefined) return undefined;
    if (obs.mode === 'instances') return notFound.has(id) ? 'gone' : undefined;
    // A failed or empty inventory is not "everything terminated".
    const region = regionOk.get(rec.region);
    return region?.ok && region.instanceCount > 0 ? 'gone' : undefined;
  };

  // Ownership: an instance is ours when DescribeInstances returns it now or the store remembers a sighting.
  const known = new Map<string, MatchableInstance>();
  for (const r of records.values()) {
    // A vanished instance runs no more, whatever its record says: it must not win a reused address.
    known.set(r.instanceId, effective(r.instanceId) === 'gone' ? { ...r, state: 'gone' } : r);
  }
  for (const i of live.values()) {
    // EC2 drops a terminated instance's private DNS name and IP: the recorded ones still tie its agent host to it.
    const r = records.get(i.instanceId);
    known.set(i.instanceId, {
      ...i,
      privateDnsName: i.privateDnsName ?? r?.privateDnsName,
      privateIpAddress: i.privateIpAddress ?? r?.privateIpAddress,
    });
  }

  const weakAllowed =
    obs.mode === 'fleet'
      ? undefined
      : // One instance alone cannot settle a reused address: trust only weak links a full sweep recorded.
        (hostId: string, instanceId: string) =>
          records.get(instanceId)?.linkedHostIds.includes(hostId) ?? false;
  const match = matchHosts(obs.hosts, known, weakAllowed);
  const linksByInstance = groupBy(match.links, (l) => l.instanceId);
  return { live, records, known, inScope, effective, match, linksByInstance };
}

/** Hosts whose last metric decides a duplicate merge: the members of running instances' multi-host groups. */
export function duplicateCandidates(obs: LinkInput): string[] {
  const { live, inScope, linksByInstance } = linkFleet(obs);
  const out: string[] = [];
  for (const [instanceId, links] of linksByInstance) {
    if (links.length >= 2 && inScope(instanceId) && live.get(instanceId)?.state === 'running') {
      out.push(...links.filter((l) => l.strength !== 'custom-identifier').map((l) => l.hostId));
    }
  }
  return out.sort();
}

export function plan(obs: Observation, policy: Policy): Plan {
  const nowS = Math.floor(obs.now / 1000);
  const { live, records, known, inScope, effective, match, linksByInstance } = linkFleet(obs);
  const restores = new Map<string, RestoreMemo>(obs.state.restores.map((m) => [m.hostId, m]));
  const checks = new Map<string, CheckMemo>(obs.state.checks.map((m) => [`${m.name}#${m.hostId}`, m]));

  const hostsById = new Map(obs.hosts.filter((h) => !h.isRetired).map((h) => [h.id, h]));

  const actions: Action[] = [];
  const ignoredInstanceIds: string[] = [];
  const unknownInstanceIds: string[] = [];
  const goneInstanceIds: string[] = [];
  const linkedHostIds = new Map<string, string[]>();
  const actedHosts = new Set<string>();

  const instanceIds = [...known.keys()].filter(inScope).sort();
  for (const instanceId of instanceIds) {
    const inst = live.get(instanceId);
    const rec = records.get(instanceId);
    const links = (linksByInstance.get(instanceId) ?? []).sort((a, b) => byCodeUnit(a.hostId, b.hostId));
    const hosts = links.map((l) => hostsById.get(l.hostId)).filter((h): h is Host => h !== undefined);
    linkedHostIds.set(instanceId, hosts.map((h) => h.id));
    for (const h of hosts) actedHosts.add(h.id);
    if (isIgnored(inst, rec)) {
      ignoredInstanceIds.push(instanceId);
      continue;
    }
    const state = effective(instanceId);
    if (state === undefined) {
      unknownInstanceIds.push(instanceId);
      continue;
    }
    const ctx: InstanceContext = {
      instanceId,
      region: inst?.region ?? rec?.region ?? '',
      version: rec?.version ?? 0,
      hosts,
      links,
      restores,
      checks,
      nowS,
      policy,
      latest: obs.latestMetricTime,
    };
    if (state === 'gone') goneInstanceIds.push(instanceId);
    const first = actions.length;
    if (state === 'terminated' || state === 'gone') actions.push(...planRetireAll(ctx, state));
    else if (state === 'stopping' || state === 'stopped') actions.push(...planStopped(ctx));
    else if (state === 'running' && inst) actions.push(...planRunning(ctx, inst));
    // A plan shown to a person says what each action was decided on.
    for (const a of actions.slice(first)) a.instanceState = state;
  }

  // Memos about hosts that no longer exist (retired by anyone) mean nothing any more.
  const memoInScope = (m: { instanceId: string }) => inScope(m.instanceId);
  for (const m of obs.state.restores.filter(memoInScope)) {
    if (!hostsById.has(m.hostId)) actions.push(forget(m.instanceId, m.hostId, 'restore'));
  }
  for (const m of obs.state.checks.filter(memoInScope)) {
    if (!hostsById.has(m.hostId)) actions.push(forget(m.instanceId, m.hostId, m.name));
  }

  const findings: Finding[] = [];
  let circuitBreaker: Plan['circuitBreaker'];
  if (policy.circuitBreaker) {
    const retirements = actions.filter((a) => a.kind === 'retire').length;
    const ownedHosts = actedHosts.size;
    const tripped =
      retirements > 0 &&
      (retirements > policy.maxRetirePerRun || retirements * 100 > policy.maxRetirePercent * ownedHosts);
    circuitBreaker = {
      tripped,
      retirements,
      ownedHosts,
      maxPerRun: policy.maxRetirePerRun,
      maxPercent: policy.maxRetirePercent,
    };
    if (tripped) {
      const held = actions.filter((a): a is RetireAction => a.kind === 'retire');
      findings.push({
        detailType: 'Circuit Breaker Tripped',
        detail: {
          ...circuitBreaker,
          reason: `${retirements} retirements planned, over the limit of ${policy.maxRetirePerRun} or ${policy.maxRetirePercent}% of ${ownedHosts} owned hosts; nothing was retired`,
          hostIds: held.slice(0, 100).map((a) => a.hostId),
        },
      });
      const keep = actions.filter((a) => a.kind !== 'retire');
      actions.length = 0;
      actions.push(...keep);
    }
  }

  // A host retired now takes its memos along once the retirement is done: the next run has nothing to forget.
  const retiring = new Map(
    actions.filter((a): a is RetireAction => a.kind === 'retire').map((a) => [a.hostId, a.key]),
  );
  const planned = new Set(actions.map((a) => a.key));
  const memos = [
    ...obs.state.restores.map((m) => ({ ...m, memo: 'restore' as const })),
    ...obs.state.checks.map((m) => ({ ...m, memo: m.name })),
  ];
  for (const m of memos.filter(memoInScope)) {
    const retireKey = retiring.get(m.hostId);
    if (!retireKey) continue;
    const f = forget(m.instanceId, m.hostId, m.memo, retireKey);
    if (!planned.has(f.key)) actions.push(f);
    planned.add(f.key);
  }

  actions.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || byCodeUnit(a.key, b.key));
  return {
    actions,
    findings,
    links: [...match.links].sort((a, b) => byCodeUnit(a.hostId, b.hostId)),
    linkedHostIds,
    ambiguities: [...match.ambiguities].sort((a, b) => byCodeUnit(a.hostId, b.hostId)),
    // Scoped to one instance, every other host would look foreign: report only the target's.
    foreignHostIds: match.foreign
      .filter((id) => inScope(strongInstanceId(hostsById.get(id) as Host)?.instanceId ?? ''))
      .sort(),
    ignoredInstanceIds,
    unknownInstanceIds,
    goneInstanceIds,
    circuitBreaker,
  };
}

interface InstanceContext {
  instanceId: string;
  region: string;
  version: number;
  hosts: Host[];
  links: Link[];
  restores: Map<string, RestoreMemo>;
  checks: Map<string, CheckMemo>;
  nowS: number;
  policy: Policy;
  latest: Record<string, number>;
}

const hostRef = (h: Host) => ({ hostId: h.id, hostName: h.displayName || h.name });

function retire(
  ctx: InstanceContext,
  host: Host,
  retireReason: RetireAction['retireReason'],
  reason: string,
  opts: { dependsOn?: string; finding?: Finding } = {},
): RetireAction {
  const finding: Finding = opts.finding ?? {
    detailType: 'Host Retired',
    detail: { instanceId: ctx.instanceId, region: ctx.region, ...hostRef(host), reason: retireReason },
  };
  return {
    kind: 'retire',
    key: `retire#${host.id}`,
    instanceId: ctx.instanceId,
    region: ctx.region,
    ...hostRef(host),
    retireReason,
    reason,
    dependsOn: opts.dependsOn,
    findings: [finding],
  };
}

function planRetireAll(ctx: InstanceContext, state: 'terminated' | 'gone'): Action[] {
  const reason =
    state === 'terminated'
      ? `instance ${ctx.instanceId} is terminated`
      : `instance ${ctx.instanceId} is no longer returned by DescribeInstances`;
  return ctx.hosts.map((h) =>
    retire(ctx, h, state === 'terminated' ? 'instance-terminated' : 'instance-gone', reason),
  );
}

function setStatus(
  ctx: InstanceContext,
  host: Host,
  to: Host['status'],
  reason: string,
  restoring: boolean,
): Action {
  return {
    kind: 'set-status',
    key: `status#${host.id}#${to}#${ctx.instanceId}@${ctx.version}`,
    instanceId: ctx.instanceId,
    ...hostRef(host),
    from: host.status,
    to,
    remember: restoring ? undefined : host.status,
    restoring,
    reason,
    findings: [
      {
        detailType: 'Host Status Changed',
        detail: {
          instanceId: ctx.instanceId,
          region: ctx.region,
          ...hostRef(host),
          from: host.status,
          to,
          reason,
        },
      },
    ],
  };
}

function planStopped(ctx: InstanceContext): Action[] {
  const out: Action[] = [];
  for (const h of ctx.hosts) {
    // maintenance and a poweroff someone else set are a person's choice: left alone.
    if (h.status === 'working' || h.status === 'standby') {
      out.push(setStatus(ctx, h, 'poweroff', `instance ${ctx.instanceId} is stopped`, false));
    }
  }
  return out;
}

function forget(instanceId: string, hostId: string, memo: 'restore' | CheckName, dependsOn?: string): Action {
  return {
    kind: 'forget-memo',
    key: `forget#${memo}#${hostId}`,
    instanceId,
    hostId,
    memo,
    ...(dependsOn ? { dependsOn } : {}),
    reason: `host ${hostId} no longer needs its ${memo} memo`,
    findings: [],
  };
}

function checkAction(
  ctx: InstanceContext,
  host: Host,
  name: CheckName,
  status: 'WARNING' | 'OK',
  message: string,
  findings: Finding[],
): Action {
  const memo = ctx.checks.get(`${name}#${host.id}`);
  return {
    kind: 'report-check',
    key: `check#${name}#${host.id}#${status}#${memo?.changedAt ?? 0}`,
    instanceId: ctx.instanceId,
    hostId: host.id,
    name,
    status,
    message,
    reason: message,
    findings,
  };
}

function planRunning(ctx: InstanceContext, inst: Instance): Action[] {
  const out: Action[] = [];
  // Restore only what this service powered off; a poweroff a person set has no memo and stays.
  for (const h of ctx.hosts) {
    const memo = ctx.restores.get(h.id);
    if (!memo) continue;
    if (h.status === 'poweroff') {
      const restore = setStatus(ctx, h, memo.status, `instance ${ctx.instanceId} is running again`, true);
      out.push(restore);
      // The memo lives with the instance that powered the host off; a reused address may have re-linked it.
      if (memo.instanceId !== ctx.instanceId) out.push(forget(memo.instanceId, h.id, 'restore', restore.key));
    } else {
      out.push(forget(memo.instanceId, h.id, 'restore'));
    }
  }

  const duplicates = new Set<string>();
  if (ctx.hosts.length >= 2) out.push(...planDuplicates(ctx, duplicates));
  // A duplicate retired by this plan gets no more checks: a report would only leave a memo behind.
  const retiring = new Set(out.flatMap((a) => (a.kind === 'retire' ? [a.hostId] : [])));
  // A duplicate-host warning on a host that is no longer a reporting duplicate is closed.
  for (const h of ctx.hosts) {
    const memo = ctx.checks.get(`duplicate-host#${h.id}`);
    if (memo?.status === 'WARNING' && !duplicates.has(h.id) && !retiring.has(h.id)) {
      out.push(checkAction(ctx, h, 'duplicate-host', 'OK', `host ${h.id} is no longer a duplicate`, []));
    }
  }

  out.push(...planImds(ctx, inst, retiring));
  return out;
}

function planDuplicates(ctx: InstanceContext, stillReporting: Set<string>): Action[] {
  const out: Action[] = [];
  const strength = new Map(ctx.links.map((l) => [l.hostId, l.strength]));
  const ordered = [...ctx.hosts].sort(
    (a, b) =>
      Number(strength.get(b.id) === 'custom-identifier') -
        Number(strength.get(a.id) === 'custom-identifier') ||
      a.createdAt - b.createdAt ||
      byCodeUnit(a.id, b.id),
  );
  const [canonical, ...dups] = ordered;
  if (!canonical) return out;

  const have = new Set(roleFullnames(canonical));
  const union = [...new Set([...have, ...dups.flatMap(roleFullnames)])].sort();
  let rolesKey: string | undefined;
  if (union.length > have.size) {
    rolesKey = `roles#${canonical.id}#${digest(union)}`;
    out.push({
      kind: 'merge-roles',
      key: rolesKey,
      instanceId: ctx.instanceId,
      hostId: canonical.id,
      roleFullnames: union,
      duplicateHostIds: dups.map((d) => d.id),
      reason: `add the roles of duplicate hosts ${dups.map((d) => d.id).join(', ')} to ${canonical.id}`,
      findings: [],
    });
  }

  const staleBefore = ctx.nowS - ctx.policy.duplicateStaleMinutes * 60;
  const detected: Host[] = [];
  for (const dup of dups) {
    const last = ctx.latest[dup.id] ?? dup.createdAt;
    if (last < staleBefore) {
      out.push(
        retire(
          ctx,
          dup,
          'duplicate-stale',
          `duplicate of ${canonical.id}, silent since ${new Date(last * 1000).toISOString()}`,
          {
            dependsOn: rolesKey,
            finding: {
              detailType: 'Duplicate Host Merged',
              detail: {
                instanceId: ctx.instanceId,
                region: ctx.region,
                ...hostRef(dup),
                canonicalHostId: canonical.id,
                rolesMerged: union,
                silentSince: last,
              },
            },
          },
        ),
      );
    } else {
      stillReporting.add(dup.id);
      if (ctx.checks.get(`duplicate-host#${dup.id}`)?.status !== 'WARNING') detected.push(dup);
    }
  }
  detected.forEach((dup, i) => {
    const message = fill(DUPLICATE_FIX, {
      INSTANCE: ctx.instanceId,
      CANONICAL: canonical.id,
      MINUTES: ctx.policy.duplicateStaleMinutes,
    });
    const findings: Finding[] =
      i === 0
        ? [
            {
              detailType: 'Duplicate Hosts Detected',
              detail: {
                instanceId: ctx.instanceId,
                region: ctx.region,
                canonicalHostId: canonical.id,
                duplicateHostIds: detected.map((d) => d.id),
                fix: message,
              },
            },
          ]
        : [];
    out.push(checkAction(ctx, dup, 'duplicate-host', 'WARNING', message, findings));
  });
  return out;
}

function planImds(ctx: InstanceContext, inst: Instance, retiring: ReadonlySet<string>): Action[] {
  const out: Action[] = [];
  if (ctx.hosts.length === 0) return out;
  const message = fill(IMDS_MESSAGE, { INSTANCE: ctx.instanceId });
  if (inst.httpEndpoint === 'disabled') {
    const raise = ctx.hosts.filter(
      (h) => !retiring.has(h.id) && ctx.checks.get(`imds-disabled#${h.id}`)?.status !== 'WARNING',
    );
    raise.forEach((h, i) => {
      const findings: Finding[] =
        i === 0
          ? [
              {
                detailType: 'IMDS Disabled',
                detail: {
                  instanceId: ctx.instanceId,
                  region: ctx.region,
                  hostIds: ctx.hosts.map((x) => x.id),
                  remediate: ctx.policy.imdsRemediate,
                },
              },
            ]
          : [];
      out.push(checkAction(ctx, h, 'imds-disabled', 'WARNING', message, findings));
    });
    if (ctx.policy.imdsRemediate) {
      out.push({
        kind: 'enable-imds',
        key: `imds#${ctx.instanceId}@${ctx.version}`,
        instanceId: ctx.instanceId,
        region: ctx.region,
        reason: `instance ${ctx.instanceId} has IMDS disabled and IMDS_REMEDIATE is on`,
        findings: [
          {
            detailType: 'IMDS Remediated',
            detail: {
              instanceId: ctx.instanceId,
              region: ctx.region,
              hostIds: ctx.hosts.map((x) => x.id),
              change: 'ModifyInstanceMetadataOptions HttpEndpoint=enabled',
            },
          },
        ],
      });
    }
  } else {
    const fixed = ctx.hosts.filter(
      (h) => !retiring.has(h.id) && ctx.checks.get(`imds-disabled#${h.id}`)?.status === 'WARNING',
    );
    for (const h of fixed) {
      out.push(
        checkAction(ctx, h, 'imds-disabled', 'OK', `instance ${ctx.instanceId} has IMDS enabled again`, []),
      );
    }
  }
  return out;
}
