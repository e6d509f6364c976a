/**
 * The verdict on a chaos run, from the sandbox's own records only (host map, host changes as they happened,
 * call logs, check reports, published findings), against the outcome `expectedHosts` worked out from the
 * scenario.
 * Handler reports are not evidence here: they say what the code believes it did.
 */
import type { CallLogEntry } from '../sandbox/index.js';
import type { ChaosRun } from './engine.js';
import { type ExpectedHost, expectedHosts, roleFullnames } from './scenario.js';

export interface Verdict {
  /** host list as expected: retired, status, roles, warnings raised */
  lost: number;
  /** a host changed that must not have been (retired, status or roles) */
  wrong: number;
  /** an action performed twice: a retire sent for a retired host, a status set to what it was, a warning
   * raised twice, a finding published twice */
  doubleActions: number;
  /** a host retired while its instance was not terminated or gone (a silent duplicate excepted) */
  liveRetired: number;
  /** any write touching another account's host, an unrelated host or an opted-out instance's host */
  foreignTouched: number;
  /** the sweep after the final one still planned or wrote something */
  notConverged: number;
  actions: {
    retired: number;
    statusChanges: number;
    roleMerges: number;
    checkReports: number;
    findings: number;
  };
  faults: { mackerel500: number; mackerel429: number; ec2Throttled: number };
  violations: string[];
}

interface CheckReportBody {
  source?: { hostId?: string };
  name?: string;
  status?: string;
}

const RETIRE_PATH = /^\/api\/v0\/hosts\/(?:bulk-retire|[^/]+\/retire)$/;

/** Host ids a write call names, in its path or its body. */
function hostIdsOf(c: CallLogEntry): string[] {
  const ids = new Set<string>();
  const m = /^\/api\/v0\/hosts\/([^/]+)\/(?:retire|status|role-fullnames)$/.exec(c.path);
  if (m?.[1] && m[1] !== 'bulk-retire' && m[1] !== 'bulk-update-statuses') ids.add(decodeURIComponent(m[1]));
  const body = c.body as { ids?: unknown; reports?: CheckReportBody[] } | undefined;
  if (Array.isArray(body?.ids)) for (const id of body.ids) if (typeof id === 'string') ids.add(id);
  for (const r of Array.isArray(body?.reports) ? body.reports : []) if (r.source?.hostId) ids.add(r.source.hostId);
  return [...ids];
}

export function judge(run: ChaosRun): Verdict {
  const { sb, scenario } = run;
  const expected = expectedHosts(scenario);
  const role = new Map(scenario.hosts.map((h) => [h.id, h.role]));
  const violations: string[] = [];
  const v = (s: string) => violations.push(s);
  let lost = 0;
  let wrong = 0;
  let doubleActions = 0;
  let liveRetired = 0;
  let foreignTouched = 0;

  const mutations = sb.mackerel.mutations;
  const reports = sb.mackerel.checkReports as CheckReportBody[];

  // 1. The host list equals the expected one.
  for (const [id, want] of expected) {
    const got = sb.mackerel.hosts.get(id);
    if (!got) {
      v(`host ${id} (${role.get(id)}) is missing from the sandbox`);
      lost++;
      continue;
    }
    const fields: string[] = [];
    let missed = false;
    let changed = false;
    if (got.isRetired !== want.retired) {
      fields.push(`retired ${got.isRetired}, expected ${want.retired}`);
      if (want.retired) missed = true;
      else changed = true;
    }
    if (!want.retired && got.status !== want.status) {
      fields.push(`status ${got.status}, expected ${want.status}`);
      missed = true;
    }
    const roles = roleFullnames(got.roles);
    if (!want.retired && roles.join(',') !== want.roles.join(',')) {
      fields.push(`roles ${roles.join(',')}, expected ${want.roles.join(',')}`);
      missed = true;
    }
    for (const name of want.warnings) {
      const raised = reports.some((r) => r.source?.hostId === id && r.name === name && r.status === 'WARNING');
      if (!raised) {
        fields.push(`no ${name} warning`);
        missed = true;
      }
    }
    if (fields.length > 0) {
      v(`host ${id} (${role.get(id)}): ${fields.join('; ')}`);
      if (changed) wrong++;
      else if (missed) lost++;
    }
  }
  const unknown = [...sb.mackerel.hosts.keys()].filter((id) => !expected.has(id));
  for (const id of unknown) v(`host ${id} was not in the scenario`);

  // 2. Each retirement performed exactly once, and never of a host whose instance still lives.
  const retiredBy = new Map<string, number>();
  for (const m of mutations.filter((x) => x.kind === 'retire')) {
    retiredBy.set(m.hostId, (retiredBy.get(m.hostId) ?? 0) + 1);
  }
  for (const [id, want] of expected) {
    const n = retiredBy.get(id) ?? 0;
    if (want.retired && n !== 1) v(`host ${id} retired ${n} times, expected once`);
  }
  // The fake refuses to retire a retired host (404): any such answer not injected is a second attempt.
  const refused = sb.mackerel.calls.filter((c) => !c.fault && c.status === 404 && RETIRE_PATH.test(c.path));
  for (const c of refused) {
    doubleActions++;
    v(`a retire was sent again for an already retired host: ${c.method} ${c.path} ${JSON.stringify(c.body)}`);
  }
  for (const r of run.retirements) {
    const hostRole = role.get(r.hostId);
    const ended = r.instanceState === 'terminated' || r.instanceState === 'gone';
    if (!ended && hostRole !== 'dup-silent') {
      liveRetired++;
      v(`host ${r.hostId} (${hostRole}) retired while its instance was ${r.instanceState}`);
    }
  }

  // 3. Status changes: none that set what already was (a second performance of one change).
  for (const m of mutations) {
    if (m.kind === 'status' && m.from === m.to) {
      doubleActions++;
      v(`host ${m.hostId} set to ${m.to} while already ${m.from}`);
    }
  }

  // 4. Check reports: each warning raised at most once, never closed (nothing in the scenario fixes one).
  const perCheck = new Map<string, number>();
  for (const r of reports) {
    const key = `${r.source?.hostId} ${r.name} ${r.status}`;
    perCheck.set(key, (perCheck.get(key) ?? 0) + 1);
  }
  for (const [key, n] of perCheck) {
    if (key.endsWith(' WARNING') && n > 1) {
      doubleActions += n - 1;
      v(`check ${key} reported ${n} times`);
    }
    if (!key.endsWith(' WARNING')) v(`check ${key} reported ${n} times, expected never`);
  }

  // 5. Findings: one per retirement, one per status change, none twice.
  const findings = sb.eventBridge.events;
  const findingsFor = (types: string[]) => {
    const m = new Map<string, number>();
    for (const f of findings) {
      if (!types.includes(f.detailType)) continue;
      const hostId = (f.detail as { hostId?: string }).hostId ?? '';
      m.set(hostId, (m.get(hostId) ?? 0) + 1);
    }
    return m;
  };
  const retiredFindings = findingsFor(['Host Retired', 'Duplicate Host Merged']);
  for (const [id, n] of retiredBy) {
    const f = retiredFindings.get(id) ?? 0;
    if (f !== n) {
      if (f > n) doubleActions += f - n;
      v(`host ${id}: ${n} retirements, ${f} retirement findings`);
    }
  }
  const statusChanges = new Map<string, number>();
  for (const m of mutations) {
    if (m.kind === 'status') statusChanges.set(m.hostId, (statusChanges.get(m.hostId) ?? 0) + 1);
  }
  const statusFindings = findingsFor(['Host Status Changed']);
  for (const id of new Set([...statusChanges.keys(), ...statusFindings.keys()])) {
    const n = statusChanges.get(id) ?? 0;
    const f = statusFindings.get(id) ?? 0;
    if (f !== n) {
      if (f > n) doubleActions += f - n;
      v(`host ${id}: ${n} status changes, ${f} status findings`);
    }
  }

  // 6. Hosts that are not ours to touch: no write names them, no change happened to them.
  const untouchable = new Set([...expected].filter(([, e]) => e.untouchable).map(([id]) => id));
  for (const m of mutations) {
    if (untouchable.has(m.hostId)) {
      foreignTouched++;
      v(`host ${m.hostId} (${role.get(m.hostId)}) changed: ${m.kind}`);
    }
  }
  for (const c of sb.mackerel.writeCalls()) {
    const named = hostIdsOf(c).filter((id) => untouchable.has(id));
    if (named.length > 0) {
      foreignTouched++;
      v(`${c.method} ${c.path} names ${named.join(', ')} (not ours)`);
    }
  }

  // 7. Nothing left to do.
  let notConverged = run.convergenceSweep.actions.length + run.convergenceWrites;
  if (run.convergenceSweep.status !== 'ok') notConverged++;
  if (notConverged > 0) {
    v(
      `the sweep after the final one planned ${run.convergenceSweep.actions.length} actions ` +
        `(${run.convergenceSweep.actions.map((a) => a.key).slice(0, 5).join(', ')}) and made ` +
        `${run.convergenceWrites} write calls, status ${run.convergenceSweep.status}`,
    );
  }
  if (run.finalSweep.status !== 'ok') v(`the final sweep ended ${run.finalSweep.status}`);

  const faultCalls = sb.mackerel.calls.filter((c) => c.fault);
  return {
    lost,
    wrong,
    doubleActions,
    liveRetired,
    foreignTouched,
    notConverged,
    actions: {
      retired: mutations.filter((m) => m.kind === 'retire').length,
      statusChanges: mutations.filter((m) => m.kind === 'status').length,
      roleMerges: mutations.filter((m) => m.kind === 'roles').length,
      checkReports: reports.length,
      findings: findings.length,
    },
    faults: {
      mackerel500: faultCalls.filter((c) => c.status === 500).length,
      mackerel429: faultCalls.filter((c) => c.status === 429).length,
      ec2Throttled: sb.ec2.calls.filter((c) => c.status === 503).length,
    },
    violations,
  };
}

export const passed = (v: Verdict) =>
  v.violations.length === 0 &&
  v.lost === 0 &&
  v.wrong === 0 &&
  v.doubleActions === 0 &&
  v.liveRetired === 0 &&
  v.foreignTouched === 0 &&
  v.notConverged === 0;

/** The one line a run ends with. */
export function summaryLine(run: ChaosRun, v: Verdict): string {
  const t = run.tally;
  const s = run.scenario;
  const a = v.actions;
  const f = v.faults;
  return [
    `chaos seed=${s.seed}`,
    `instances=${s.instances.length}`,
    `hosts=${s.hosts.length}`,
    `events=${s.eventCount}`,
    `deliveries=${t.deliveries}`,
    `duplicates=${t.duplicateCopies}`,
    `out-of-order=${t.outOfOrder}`,
    `foreign-account-events=${t.foreignAccountEvents}`,
    `faults=${f.mackerel500 + f.mackerel429 + f.ec2Throttled + t.killedHandlers + t.killedSweeps}` +
      ` (mackerel-500=${f.mackerel500} mackerel-429=${f.mackerel429} ec2-throttled=${f.ec2Throttled}` +
      ` killed-handlers=${t.killedHandlers} killed-sweeps=${t.killedSweeps})`,
    `handler-errors=${t.handlerErrors} retries=${t.retries} exhausted=${t.exhausted}`,
    `sweeps=${t.sweeps + 2} (skipped ${t.sweepsSkipped})`,
    `actions=${a.retired + a.statusChanges + a.roleMerges + a.checkReports}` +
      ` (retired=${a.retired} status=${a.statusChanges} roles=${a.roleMerges} checks=${a.checkReports})`,
    `findings=${a.findings}`,
    `double-actions=${v.doubleActions}`,
    `lost=${v.lost}`,
    `wrong=${v.wrong}`,
    `live-retired=${v.liveRetired}`,
    `foreign-touched=${v.foreignTouched}`,
    `unconverged=${v.notConverged}`,
    `wall=${(run.wallMs / 1000).toFixed(1)}s`,
  ].join(' ');
}

export type { ExpectedHost };
