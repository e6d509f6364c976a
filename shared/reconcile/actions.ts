/**
 * How the planner's actions are built: each key, reason and finding in one place, each action built whole
 * (the state it was decided on included) and never changed afterwards.
 */
import { createHash } from 'node:crypto';
import type { EarlySignal, Finding, Host, HostStatus, Instance } from './model.js';
import type {
  Action,
  CheckMemo,
  CheckName,
  EffectiveState,
  EnableImdsAction,
  ForgetMemoAction,
  HealthObservation,
  Link,
  MergeRolesAction,
  Policy,
  ReportCheckAction,
  RestoreMemo,
  RetireAction,
  SetStatusAction,
} from './types.js';

export const DUPLICATE_FIX =
  'This host duplicates the EC2 instance %INSTANCE% because mackerel-agent could not read the instance metadata (IMDS). ' +
  'Fix: enable IMDS on the instance (HttpEndpoint=enabled), delete /var/lib/mackerel-agent/id, restart mackerel-agent; ' +
  'it then reports as %CANONICAL% and this host is retired once it has been silent for %MINUTES% minutes.';

export const IMDS_MESSAGE =
  'Instance %INSTANCE% has its instance metadata service disabled (MetadataOptions.HttpEndpoint=disabled): ' +
  'mackerel-agent cannot read its instance id and registers duplicate hosts. ' +
  'Fix: aws ec2 modify-instance-metadata-options --instance-id %INSTANCE% --http-endpoint enabled';

/** Everything a rule knows of one owned instance whose state is known. */
export interface InstanceContext {
  instanceId: string;
  state: EffectiveState;
  /** what DescribeInstances returned now (absent for an instance known only from the ledger) */
  instance?: Instance;
  region: string;
  /** the record's version: keys each stop/start cycle's actions once */
  version: number;
  /** its live hosts and their links, by host id */
  hosts: Host[];
  links: Link[];
  /** every restore memo by host id, every check memo by `<name>#<hostId>` */
  restores: ReadonlyMap<string, RestoreMemo>;
  checks: ReadonlyMap<string, CheckMemo>;
  nowS: number;
  policy: Policy;
  /** latest loadavg5 time (epoch s) of duplicate candidates */
  latest: Readonly<Record<string, number>>;
  /** what observe read for the health diagnoses (absent: not read) */
  health?: HealthObservation;
  /** an early signal of this run says the instance is about to end (see terminating.ts) */
  terminating?: EarlySignal;
}

export const fill = (template: string, vars: Record<string, string | number>) =>
  template.replace(/%([A-Z]+)%/g, (_, k: string) => String(vars[k] ?? ''));

export const roleFullnames = (host: Host): string[] =>
  Object.entries(host.roles)
    .flatMap(([service, roles]) => roles.map((r) => `${service}:${r}`))
    .sort();

export const digest = (parts: readonly string[]) =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);

/** A total, locale-free order (what `Array.prototype.sort` uses by default): fast on 100k ids, same everywhere. */
export const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const isRetire = (a: Action): a is RetireAction => a.kind === 'retire';

const hostRef = (h: Host) => ({ hostId: h.id, hostName: h.displayName || h.name });

export function retireAction(
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
    instanceState: ctx.state,
    region: ctx.region,
    ...hostRef(host),
    retireReason,
    reason,
    dependsOn: opts.dependsOn,
    findings: [finding],
  };
}

export function setStatusAction(
  ctx: InstanceContext,
  host: Host,
  to: HostStatus,
  reason: string,
  restoring: boolean,
): SetStatusAction {
  return {
    kind: 'set-status',
    key: `status#${host.id}#${to}#${ctx.instanceId}@${ctx.version}`,
    instanceId: ctx.instanceId,
    instanceState: ctx.state,
    ...hostRef(host),
    from: host.status,
    to,
    remember: restoring ? undefined : host.status,
    restoring,
    reason,
    findings: [
      {
        detailType: 'Host Status Changed',
        detail: { instanceId: ctx.instanceId, region: ctx.region, ...hostRef(host), from: host.status, to, reason },
      },
    ],
  };
}

/** A memo that means nothing any more; with `dependsOn`, it goes once that action (a retirement) is done. */
export function forgetAction(
  instanceId: string,
  hostId: string,
  memo: 'restore' | CheckName,
  opts: { dependsOn?: string; instanceState?: EffectiveState } = {},
): ForgetMemoAction {
  return {
    kind: 'forget-memo',
    key: `forget#${memo}#${hostId}`,
    instanceId,
    ...(opts.instanceState ? { instanceState: opts.instanceState } : {}),
    hostId,
    memo,
    ...(opts.dependsOn ? { dependsOn: opts.dependsOn } : {}),
    reason: `host ${hostId} no longer needs its ${memo} memo`,
    findings: [],
  };
}

export function checkAction(
  ctx: InstanceContext,
  host: Host,
  name: CheckName,
  status: 'WARNING' | 'OK' | 'CRITICAL',
  message: string,
  findings: Finding[],
): ReportCheckAction {
  const memo = ctx.checks.get(`${name}#${host.id}`);
  return {
    kind: 'report-check',
    key: `check#${name}#${host.id}#${status}#${memo?.changedAt ?? 0}`,
    instanceId: ctx.instanceId,
    instanceState: ctx.state,
    hostId: host.id,
    name,
    status,
    message,
    reason: message,
    findings,
  };
}

export function mergeRolesAction(ctx: InstanceContext, canonical: Host, dups: readonly Host[], union: string[]): MergeRolesAction {
  return {
    kind: 'merge-roles',
    key: `roles#${canonical.id}#${digest(union)}`,
    instanceId: ctx.instanceId,
    instanceState: ctx.state,
    hostId: canonical.id,
    roleFullnames: union,
    duplicateHostIds: dups.map((d) => d.id),
    reason: `add the roles of duplicate hosts ${dups.map((d) => d.id).join(', ')} to ${canonical.id}`,
    findings: [],
  };
}

export function enableImdsAction(ctx: InstanceContext): EnableImdsAction {
  return {
    kind: 'enable-imds',
    key: `imds#${ctx.instanceId}@${ctx.version}`,
    instanceId: ctx.instanceId,
    instanceState: ctx.state,
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
  };
}
