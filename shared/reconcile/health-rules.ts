/**
 * Host health (docs/design.md, "Host health"): why a running instance's host went silent, a retirement made while
 * the machine runs, an agent too old for IMDSv2, and, with AGENT_REPAIR=true, the agent's re-registration over
 * SSM Run Command and its result. Pure, like every rule: observe read the metrics, SSM and retired hosts.
 */
import { byCodeUnit, checkAction, forgetAction, type InstanceContext } from './actions.js';
import type { CheckStatus, Finding, Host, Instance } from './model.js';
import type { Action, CheckName, Link, RememberAction, RepairAgentAction } from './types.js';

/** An instance younger than this has an agent still starting: no silence is judged. */
export const MIN_UPTIME_S = 600;
export const DEFAULT_SILENT_MINUTES = 15;
export const DEFAULT_AGENT_REPAIR_HOURS = 24;
/** mackerel-agent reads IMDSv2 (a session token) from 0.67.0 on. */
export const IMDSV2_AGENT = [0, 67, 0] as const;

/** Memos about the instance itself (hostId = the instance id): never orphaned by a host that went away. */
export const INSTANCE_MEMOS: ReadonlySet<CheckName> = new Set<CheckName>(['agent-repair', 'retired-while-running']);

/** Command statuses that are final (GetCommandInvocation). */
const FINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated']);

/**
 * `0.84.0`, `v0.72.1`, `0.73.2-dev`, `0.85.1+abc`: the leading major.minor.patch. The agent's build strips
 * suffixes from its tag (its Makefile), but a hand-built agent may carry one. Anything else is unparseable.
 */
export function parseAgentVersion(v: unknown): [number, number, number] | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^\s*v?(\d{1,6})\.(\d{1,6})(?:\.(\d{1,6}))?(?:[-+.~ ].*)?\s*$/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

const older = (a: readonly number[], b: readonly number[]) => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
};

const hasAgent = (h: Host) => typeof h.meta['agent-version'] === 'string' && h.meta['agent-version'] !== '';

/** The canonical host, as the duplicate rule picks it: the one with the customIdentifier, else the oldest. */
export function canonicalHost(hosts: readonly Host[], links: readonly Link[]): Host | undefined {
  const strength = new Map(links.map((l) => [l.hostId, l.strength]));
  const ci = (h: Host) => Number(strength.get(h.id) === 'custom-identifier');
  return [...hosts].sort((a, b) => ci(b) - ci(a) || a.createdAt - b.createdAt || byCodeUnit(a.id, b.id))[0];
}

/** The host whose silence this instance is diagnosed on: an agent host (an integration-only host posts no loadavg5). */
export function watchedHost(inst: Instance | undefined, hosts: readonly Host[], links: readonly Link[], nowS: number) {
  if (inst?.state !== 'running' || nowS - inst.launchTime / 1000 < MIN_UPTIME_S) return undefined;
  const canonical = canonicalHost(hosts, links);
  if (!canonical || !hasAgent(canonical)) return undefined;
  return canonical.status === 'working' || canonical.status === 'standby' ? canonical : undefined;
}

const lastReport = (h: Host, latest: Readonly<Record<string, number>>) => latest[h.id] ?? h.createdAt;

/** The watched host, when it is silent and no other host of the instance reports in its place (a duplicate). */
export function silentHost(
  inst: Instance | undefined,
  hosts: readonly Host[],
  links: readonly Link[],
  latest: Readonly<Record<string, number>>,
  nowS: number,
  silentMinutes: number,
): Host | undefined {
  const watched = watchedHost(inst, hosts, links, nowS);
  const since = nowS - silentMinutes * 60;
  if (!watched || lastReport(watched, latest) >= since) return undefined;
  return hosts.some((h) => h.id !== watched.id && latest[h.id] !== undefined && latest[h.id]! >= since) ? undefined : watched;
}

const duration = (s: number) => {
  const m = Math.max(0, Math.floor(s / 60));
  return m >= 120 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
};

/** What SSM says of the instance, in words. */
function ssmWords(ctx: InstanceContext): string {
  const h = ctx.health;
  if (!h || !h.asked.includes(ctx.instanceId)) return 'SSM not read';
  const m = h.managed[ctx.instanceId];
  return m ? `managed by SSM (${m.pingStatus}, ${m.platformType})` : 'not managed by SSM';
}

function agentWords(h: Host): string {
  const v = h.meta['agent-version'];
  if (parseAgentVersion(v)) return `mackerel-agent ${v}`;
  return `mackerel-agent version "${String(v).slice(0, 40)}" (unparseable: its IMDSv2 support is not judged)`;
}

function imdsWords(inst: Instance): string {
  const hops = inst.httpPutResponseHopLimit === undefined ? '' : `, hop limit ${inst.httpPutResponseHopLimit}`;
  return `IMDS HttpEndpoint=${inst.httpEndpoint}, HttpTokens=${inst.httpTokens ?? 'unknown'}${hops}`;
}

/** host-silent: CRITICAL with what can be seen from here, one `Host Silent` finding; OK once it reports again. */
function planSilence(ctx: InstanceContext, inst: Instance, retiring: ReadonlySet<string>): Action[] {
  const minutes = ctx.policy.silentMinutes ?? DEFAULT_SILENT_MINUTES;
  const silent = silentHost(inst, ctx.hosts, ctx.links, ctx.latest, ctx.nowS, minutes);
  const memo = (h: Host) => ctx.checks.get(`host-silent#${h.id}`);
  const cleared = ctx.hosts
    .filter((h) => h.id !== silent?.id && !retiring.has(h.id) && memo(h)?.status === 'CRITICAL')
    .map((h) => checkAction(ctx, h, 'host-silent', 'OK', `host ${h.id} reports again`, []));
  if (!silent || retiring.has(silent.id) || memo(silent)?.status === 'CRITICAL') return cleared;
  const since = lastReport(silent, ctx.latest);
  const seen = [
    `instance ${ctx.instanceId} ${inst.state} for ${duration(ctx.nowS - inst.launchTime / 1000)}`,
    `host status ${silent.status}`,
    agentWords(silent),
    imdsWords(inst),
    ssmWords(ctx),
  ];
  const message =
    `Host ${silent.id} (${silent.displayName || silent.name}) has posted no loadavg5 for ${duration(ctx.nowS - since)} ` +
    `while its EC2 instance runs. Seen from here: ${seen.join('; ')}. Likely causes: mackerel-agent stopped, or cannot ` +
    'reach the Mackerel API (an old CA bundle, blocked egress or proxy), or cannot read IMDS.';
  const finding: Finding = {
    detailType: 'Host Silent',
    detail: {
      instanceId: ctx.instanceId,
      region: ctx.region,
      hostId: silent.id,
      hostName: silent.displayName || silent.name,
      silentSince: since,
      hostStatus: silent.status,
      agentVersion: silent.meta['agent-version'] ?? null,
      imds: { httpEndpoint: inst.httpEndpoint, httpTokens: inst.httpTokens ?? null, hopLimit: inst.httpPutResponseHopLimit ?? null },
      ssm: ssmWords(ctx),
      message,
    },
  };
  return [...cleared, checkAction(ctx, silent, 'host-silent', 'CRITICAL', message, [finding])];
}

export const AGENT_TOO_OLD_FIX =
  'Instance %INSTANCE% requires IMDSv2 (HttpTokens=required) and host %HOST% runs mackerel-agent %VERSION%, older ' +
  'than 0.67.0: it cannot read its instance id and registers a stray host. Fix: upgrade mackerel-agent, or allow ' +
  'IMDSv1: aws ec2 modify-instance-metadata-options --instance-id %INSTANCE% --http-tokens optional';

/** imds-agent-too-old: WARNING on a host whose agent cannot speak IMDSv2 where it is required; OK once fixed. */
function planAgentTooOld(ctx: InstanceContext, inst: Instance, retiring: ReadonlySet<string>): Action[] {
  return ctx.hosts
    .filter((h) => !retiring.has(h.id))
    .flatMap((h) => {
      const version = parseAgentVersion(h.meta['agent-version']);
      // An unparseable version is not judged (the host-silent message says so when it matters).
      const tooOld = inst.httpTokens === 'required' && version !== undefined && older(version, IMDSV2_AGENT);
      const warned = ctx.checks.get(`imds-agent-too-old#${h.id}`)?.status === 'WARNING';
      if (tooOld && !warned) {
        const message = AGENT_TOO_OLD_FIX.replaceAll('%INSTANCE%', ctx.instanceId)
          .replaceAll('%HOST%', h.id)
          .replaceAll('%VERSION%', String(h.meta['agent-version']));
        return [checkAction(ctx, h, 'imds-agent-too-old', 'WARNING', message, [])];
      }
      if (!tooOld && warned) {
        return [checkAction(ctx, h, 'imds-agent-too-old', 'OK', `host ${h.id} can read IMDS now`, [])];
      }
      return [];
    });
}

function rememberAction(ctx: InstanceContext, key: string, memo: RememberAction['memo'], reason: string, findings: Finding[]): RememberAction {
  return { kind: 'remember', key, instanceId: ctx.instanceId, instanceState: ctx.state, memo, reason, findings };
}

export const RETIRED_WHILE_RUNNING_FIX =
  'Every host of EC2 instance %INSTANCE% (%HOSTS%) is retired, but the instance runs: its agent keeps posting to a ' +
  'retired host. Fix: on the instance, stop mackerel-agent, delete /var/lib/mackerel-agent/id, start mackerel-agent ' +
  '(it registers again); AGENT_REPAIR=true does this over SSM Run Command.';

/** A retirement by mistake: one finding per instance and phase; the memo goes once a live host is back. */
function planRetiredWhileRunning(ctx: InstanceContext): { actions: Action[]; retired: boolean } {
  const memo = ctx.checks.get(`retired-while-running#${ctx.instanceId}`);
  if (ctx.hosts.length > 0) {
    return { actions: memo ? [forgetAction(ctx.instanceId, ctx.instanceId, 'retired-while-running')] : [], retired: false };
  }
  const retired = ctx.health?.retiredHostIds[ctx.instanceId] ?? [];
  if (retired.length === 0) return { actions: [], retired: memo !== undefined };
  if (memo?.ref === String(ctx.version)) return { actions: [], retired: true };
  const fix = RETIRED_WHILE_RUNNING_FIX.replaceAll('%INSTANCE%', ctx.instanceId).replace('%HOSTS%', retired.join(', '));
  const finding: Finding = {
    detailType: 'Host Retired While Running',
    detail: { instanceId: ctx.instanceId, region: ctx.region, retiredHostIds: retired, repair: ctx.policy.agentRepair ?? false, fix },
  };
  const note = rememberAction(
    ctx,
    `retired-running#${ctx.instanceId}@${ctx.version}`,
    { hostId: ctx.instanceId, name: 'retired-while-running', status: 'CRITICAL', changedAt: ctx.nowS, ref: String(ctx.version) },
    fix,
    [finding],
  );
  return { actions: [note], retired: true };
}

/** A repair's result, read on a later run: published once, kept in the memo (its send time still bounds the window). */
function planRepairResult(ctx: InstanceContext): RememberAction[] {
  const memo = ctx.checks.get(`agent-repair#${ctx.instanceId}`);
  const result = ctx.health?.commands[ctx.instanceId];
  if (memo?.status !== 'UNKNOWN' || !result || result.commandId !== memo.ref || !FINAL.has(result.status)) return [];
  const ok = result.status === 'Success';
  const status: CheckStatus = ok ? 'OK' : 'CRITICAL';
  const finding: Finding = {
    detailType: ok ? 'Agent Re-registered' : 'Agent Repair Failed',
    detail: {
      instanceId: ctx.instanceId,
      region: ctx.region,
      commandId: result.commandId,
      status: result.status,
      sentAt: memo.changedAt,
      ...(result.output ? { output: result.output } : {}),
    },
  };
  return [
    rememberAction(
      ctx,
      `repair-result#${ctx.instanceId}#${result.commandId}`,
      { hostId: ctx.instanceId, name: 'agent-repair', status, changedAt: memo.changedAt, ref: result.commandId },
      `agent repair ${result.commandId} on ${ctx.instanceId}: ${result.status}`,
      [finding],
    ),
  ];
}

/**
 * A warned duplicate that has kept reporting for DUPLICATE_STALE_MINUTES with IMDS enabled: the agent will not
 * adopt the canonical host by itself (its id file names the duplicate). IMDS enabled again only lately (the
 * imds-disabled memo turned OK) gets the same time first, for a person's own restart.
 */
function reportingDuplicates(ctx: InstanceContext, inst: Instance, stillReporting: ReadonlySet<string>): string[] {
  if (inst.httpEndpoint !== 'enabled') return [];
  const before = ctx.nowS - ctx.policy.duplicateStaleMinutes * 60;
  return ctx.hosts
    .filter((h) => stillReporting.has(h.id) && h.createdAt <= before)
    .filter((h) => {
      const warned = ctx.checks.get(`duplicate-host#${h.id}`);
      const imds = ctx.checks.get(`imds-disabled#${h.id}`);
      return warned?.status === 'WARNING' && (imds === undefined || (imds.status === 'OK' && imds.changedAt <= before));
    })
    .map((h) => h.id);
}

/** Whether the agent may be repaired now: SSM manages it, it runs Linux, and the window since the last try is over. */
export function repairable(ctx: InstanceContext, inst: Instance): boolean {
  if (!ctx.policy.agentRepair || inst.platform === 'windows') return false;
  const managed = ctx.health?.managed[ctx.instanceId];
  if (managed?.pingStatus !== 'Online' || managed.platformType !== 'Linux') return false;
  const last = ctx.checks.get(`agent-repair#${ctx.instanceId}`);
  const hours = ctx.policy.agentRepairHours ?? DEFAULT_AGENT_REPAIR_HOURS;
  return last === undefined || last.changedAt <= ctx.nowS - hours * 3600;
}

function repairAction(ctx: InstanceContext, cause: RepairAgentAction['cause'], hostIds: string[]): RepairAgentAction {
  const last = ctx.checks.get(`agent-repair#${ctx.instanceId}`);
  return {
    kind: 'repair-agent',
    // Keyed on the previous repair: concurrent runs claim the same key, so the command is sent once.
    key: `repair#${ctx.instanceId}#${last?.changedAt ?? 0}`,
    instanceId: ctx.instanceId,
    instanceState: ctx.state,
    region: ctx.region,
    cause,
    hostIds,
    reason:
      cause === 'retired-while-running'
        ? `the hosts of ${ctx.instanceId} were retired while it runs: re-register mackerel-agent over SSM`
        : `duplicate hosts ${hostIds.join(', ')} of ${ctx.instanceId} still report with IMDS enabled: re-register mackerel-agent over SSM`,
    findings: [],
  };
}

/** Every health rule of a running instance; called from `whileRunning` in rules.ts. */
export function planHealth(
  ctx: InstanceContext,
  inst: Instance,
  dup: { retiring: ReadonlySet<string>; stillReporting: ReadonlySet<string> },
): Action[] {
  const retired = planRetiredWhileRunning(ctx);
  const result = planRepairResult(ctx);
  const actions = [...planSilence(ctx, inst, dup.retiring), ...planAgentTooOld(ctx, inst, dup.retiring), ...retired.actions, ...result];
  // A result to publish first: the memo it updates would otherwise meet the new repair's in one write.
  if (result.length > 0 || !repairable(ctx, inst)) return actions;
  if (retired.retired) {
    const ids = ctx.health?.retiredHostIds[ctx.instanceId] ?? [];
    return [...actions, repairAction(ctx, 'retired-while-running', ids)];
  }
  const dups = reportingDuplicates(ctx, inst, dup.stillReporting);
  return dups.length > 0 ? [...actions, repairAction(ctx, 'duplicate-reporting', dups)] : actions;
}
