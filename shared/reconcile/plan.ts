/**
 * The planner: a pure function from what was observed to the actions that make Mackerel true to EC2.
 * No I/O, no clock, no environment: everything arrives in `Observation` and `Policy`.
 *
 *   link (link.ts)          ownership, effective state and host links of every instance in scope
 *   rules (rules.ts)        per owned instance, the rule for its observed state
 *   guards                  fleet-wide: the circuit breaker (circuit-breaker.ts), sweeps only
 *   memos (memos.ts)        memos that mean nothing any more are forgotten
 *
 * docs/design.md's "What the planner decides" and "Safety" are implemented here and only here.
 */
import { byCodeUnit } from './actions.js';
import { alertmanagerActions } from './alertmanager-rules.js';
import { circuitBreaker } from './circuit-breaker.js';
import { KIND_ORDER } from './effectors/index.js';
import { isIgnored, linkFleet } from './link.js';
import { strongInstanceId } from './match.js';
import { forgetOrphanMemos, forgetWithRetirements } from './memos.js';
import type { Finding, Host } from './model.js';
import { RULES } from './rules.js';
import { holdMinutesOf, instanceIsTerminating } from './terminating.js';
import { planTasks } from './tasks.js';
import type { Action, CheckMemo, CircuitBreakerState, Observation, Plan, Policy, RestoreMemo } from './types.js';

export { type LinkInput, linkFleet } from './link.js';

type Linked = ReturnType<typeof linkFleet>;

/** What the planner concluded about one instance in scope. */
interface Verdict {
  instanceId: string;
  /** its live linked hosts, to remember for later runs */
  hostIds: string[];
  /** ignored: opted out; unknown: its state cannot be known now; acted: its rule ran (gone: and it vanished) */
  verdict: 'ignored' | 'unknown' | 'gone' | 'acted';
  actions: Action[];
}

interface Shared {
  obs: Observation;
  policy: Policy;
  fleet: Linked;
  liveHosts: ReadonlyMap<string, Host>;
  restores: ReadonlyMap<string, RestoreMemo>;
  checks: ReadonlyMap<string, CheckMemo>;
}

const rank = new Map(KIND_ORDER.map((kind, i) => [kind, i]));
/** Actions in the order they are performed (kind), then by key: a plan is the same whatever the input order. */
const byKindThenKey = (a: Action, b: Action) =>
  (rank.get(a.kind) ?? 0) - (rank.get(b.kind) ?? 0) || byCodeUnit(a.key, b.key);

function assess(instanceId: string, s: Shared): Verdict {
  const { fleet } = s;
  const inst = fleet.live.get(instanceId);
  const rec = fleet.records.get(instanceId);
  const links = [...(fleet.linksByInstance.get(instanceId) ?? [])].sort((a, b) => byCodeUnit(a.hostId, b.hostId));
  const hosts = links.flatMap((l) => s.liveHosts.get(l.hostId) ?? []);
  const seen = { instanceId, hostIds: hosts.map((h) => h.id) };
  if (isIgnored(inst, rec)) return { ...seen, verdict: 'ignored', actions: [] };
  const state = fleet.effective(instanceId);
  if (state === undefined) return { ...seen, verdict: 'unknown', actions: [] };
  const rule = RULES[state];
  const actions = rule
    ? rule({
        instanceId,
        state,
        instance: inst,
        region: inst?.region ?? rec?.region ?? '',
        version: rec?.version ?? 0,
        hosts,
        links,
        restores: s.restores,
        checks: s.checks,
        nowS: Math.floor(s.obs.now / 1000),
        policy: s.policy,
        latest: s.obs.latestMetricTime,
        health: s.obs.health,
        terminating: s.obs.terminating?.[instanceId],
      })
    : [];
  const view = s.obs.alertmanager;
  if (view) {
    // Terminating: a Spot/ASG warning in this run, or a restore memo of this instance still held for one.
    const nowS = Math.floor(s.obs.now / 1000);
    const holdMinutes = holdMinutesOf(s.policy);
    const terminating =
      s.obs.terminating?.[instanceId] !== undefined ||
      instanceIsTerminating([...s.restores.values()], instanceId, nowS, holdMinutes);
    const input = { instanceId, state, instance: inst, record: rec, now: s.obs.now, view, terminating, holdMinutes };
    actions.push(...alertmanagerActions(input));
  }
  return { ...seen, verdict: state === 'gone' ? 'gone' : 'acted', actions };
}

/** Fleet-wide guards, sweeps only (an event acts on one instance). */
function guard(
  actions: Action[],
  verdicts: readonly Verdict[],
  policy: Policy,
  taskHostIds: readonly string[] = [],
): { actions: Action[]; findings: Finding[]; state?: CircuitBreakerState; held: Plan['held'] } {
  if (!policy.circuitBreaker) return { actions, findings: [], held: [] };
  const ownedHosts = new Set([...verdicts.flatMap((v) => v.hostIds), ...taskHostIds]).size;
  return circuitBreaker(actions, ownedHosts, policy);
}

export function plan(obs: Observation, policy: Policy): Plan {
  const fleet = linkFleet(obs);
  const liveHosts = new Map(obs.hosts.filter((h) => !h.isRetired).map((h) => [h.id, h]));
  const shared: Shared = {
    obs,
    policy,
    fleet,
    liveHosts,
    restores: new Map(obs.state.restores.map((m) => [m.hostId, m])),
    checks: new Map(obs.state.checks.map((m) => [`${m.name}#${m.hostId}`, m])),
  };
  const memoInScope = (m: { instanceId: string }) => fleet.inScope(m.instanceId);
  const verdicts = [...fleet.known.keys()].filter(fleet.inScope).sort().map((id) => assess(id, shared));
  const tasks = planTasks(obs);
  const guarded = guard(
    [...verdicts.flatMap((v) => v.actions), ...tasks.actions, ...forgetOrphanMemos(obs.state, liveHosts, memoInScope)],
    verdicts,
    policy,
    tasks.ownedHostIds,
  );
  const actions = [
    ...guarded.actions,
    ...forgetWithRetirements(guarded.actions, obs.state, memoInScope),
  ];
  const idsOf = (verdict: Verdict['verdict']) => verdicts.filter((v) => v.verdict === verdict).map((v) => v.instanceId);
  return {
    actions: actions.sort(byKindThenKey),
    findings: guarded.findings,
    links: [...fleet.match.links].sort((a, b) => byCodeUnit(a.hostId, b.hostId)),
    linkedHostIds: new Map(verdicts.map((v) => [v.instanceId, v.hostIds])),
    ambiguities: [...fleet.match.ambiguities].sort((a, b) => byCodeUnit(a.hostId, b.hostId)),
    // Scoped to one instance, every other host would look foreign: report only the target's.
    foreignHostIds: fleet.match.foreign
      .filter((id) => fleet.inScope(strongInstanceId(liveHosts.get(id) as Host)?.instanceId ?? ''))
      .sort(),
    ignoredInstanceIds: idsOf('ignored'),
    unknownInstanceIds: idsOf('unknown'),
    goneInstanceIds: idsOf('gone'),
    circuitBreaker: guarded.state,
    held: guarded.held,
    foreignTaskHostIds: tasks.foreignHostIds,
    ignoredTaskArns: tasks.ignoredTaskArns,
    unknownTaskArns: tasks.unknownTaskArns,
  };
}
