/**
 * `npm start`: the whole product against the local sandbox, end to end, with the real Lambda handlers.
 * A fleet with every drift of docs/design.md is seeded, then: a dry run, a state-change event delivered twice,
 * a sweep, and a second sweep that must change nothing. Doubles as a smoke test: it exits non-zero when a
 * handler throws, a dry run writes, or the second sweep is not converged.
 *
 *   npm start                  a random seed (printed)
 *   npm start -- --seed 42     the same fleet again
 */
import { lambdaContext } from '../sandbox/lambda-context.js';
import type { Context } from 'aws-lambda';
import {
  ec2StateChangeEvent,
  type FakeHost,
  type Sandbox,
  scheduledEvent,
  startSandbox,
} from '../sandbox/index.js';
import type { ActionResult } from '../shared/reconcile/execute.js';
import type { Report } from '../shared/reconcile/run.js';
import { showAnnotations } from './demo-annotations.js';
import { demoAlertmanager } from './demo-alertmanager.js';
import { CI_SUFFIX, DNS_SUFFIX, type Fleet, seedFleet } from './fleet.js';
import { demoHealth } from './demo-health.js';
import { demoEcs } from './demo-ecs.js';

type Handler = (event: unknown, context: Context) => Promise<Report>;
interface Handlers {
  stateChange: Handler;
  sweep: Handler;
  replay: Handler;
}

/** The demo's own verdict: printed plainly, exit code 1. */
class DemoFailure extends Error {
  override name = 'DemoFailure';
}

// --- plain text output -----------------------------------------------------------------------------------

const WIDTH = 110;
const line = (s = '') => console.log(s);
const heading = (s: string) => line(`\n${s}\n${'─'.repeat(Math.min(WIDTH, s.length))}`);

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** A fixed-width table; `max` caps a column (clipped with …). */
function table(headers: string[], rows: string[][], max: number[] = [], indent = '  '): void {
  const cells = rows.map((r) => r.map((c, i) => clip(c, max[i] ?? 1000)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    indent +
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  line(fmt(headers));
  for (const r of cells) line(fmt(r));
}

function wrap(text: string, width: number, indent: string): string {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur.length > 0 && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(cur);
  return out.map((l) => indent + l).join('\n');
}

const short = (name: string) => (name.endsWith(DNS_SUFFIX) ? name.slice(0, -DNS_SUFFIX.length) : name);
const rolesOf = (h: FakeHost) =>
  Object.entries(h.roles)
    .flatMap(([s, rs]) => rs.map((r) => `${s}:${r}`))
    .sort()
    .join(',') || '-';

// --- the demo --------------------------------------------------------------------------------------------

function parseSeed(): number | undefined {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '--seed' || a.startsWith('--seed='));
  const raw = i < 0 ? process.env.SEED : (args[i]?.split('=')[1] ?? args[i + 1]);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new DemoFailure(`--seed must be a non-negative integer, got "${raw}"`);
  return n;
}

async function invoke(sb: Sandbox, name: string, handler: Handler, event: unknown): Promise<Report> {
  try {
    return await handler(event, lambdaContext(sb.functionArn(name)));
  } catch (e) {
    throw new DemoFailure(`the ${name} handler threw: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`);
  }
}

/** What one run changed in the fakes: its Mackerel writes, findings and check reports. */
class Tap {
  private writes: number;
  private events: number;
  private checks: number;
  constructor(private readonly sb: Sandbox) {
    this.writes = sb.mackerel.writeCalls().length;
    this.events = sb.eventBridge.events.length;
    this.checks = sb.mackerel.checkReports.length;
  }
  get newWrites() {
    return this.sb.mackerel.writeCalls().slice(this.writes);
  }
  get newEvents() {
    return this.sb.eventBridge.events.slice(this.events);
  }
  get newChecks() {
    return this.sb.mackerel.checkReports.slice(this.checks) as CheckReportSeen[];
  }
}

interface CheckReportSeen {
  source: { hostId: string };
  name: string;
  status: string;
  message: string;
}

function hostsTable(sb: Sandbox, fleet: Fleet): void {
  // Drifted hosts first, each instance's hosts together (integration host first), healthy ones last.
  const all = [...sb.mackerel.hosts.values()];
  const firstOf = new Map<string, number>();
  all.forEach((h, i) => {
    const inst = fleet.hosts.get(h.id)?.instanceId ?? h.id;
    if (!firstOf.has(inst)) firstOf.set(inst, i);
  });
  const rank = (h: FakeHost) => {
    const f = fleet.hosts.get(h.id);
    return [
      f?.note === 'healthy' ? 1 : 0,
      firstOf.get(f?.instanceId ?? h.id) ?? 0,
      h.customIdentifier ? 0 : 1,
    ];
  };
  const byRank = (x: number[], y: number[]) => {
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  };
  const hosts = all.sort((a, b) => byRank(rank(a), rank(b)));
  const rows = hosts.map((h) => {
    const f = fleet.hosts.get(h.id);
    const inst = f ? sb.ec2.instances.get(f.instanceId) : undefined;
    let ec2 = '?';
    if (inst) ec2 = inst.state + (inst.httpEndpoint === 'disabled' ? ', IMDS off' : '');
    else if (f?.instanceId === fleet.foreignInstanceId) ec2 = 'not ours';
    else if (f?.instanceId === '') ec2 = '-';
    else if (f) ec2 = 'gone';
    return [
      h.id,
      short(h.name),
      h.isRetired ? 'RETIRED' : h.status,
      h.customIdentifier ? h.customIdentifier.replace(CI_SUFFIX, '…') : '-',
      rolesOf(h),
      f?.instanceId || '-',
      ec2,
      f?.note ?? '',
    ];
  });
  table(
    ['HOST', 'NAME', 'STATUS', 'CUSTOM IDENTIFIER', 'ROLES', 'INSTANCE', 'EC2', 'SCENARIO'],
    rows,
    [11, 17, 11, 21, 22, 19, 17, 28],
  );
  line(
    `  (${hosts.length} hosts; NAME drops "${DNS_SUFFIX}", CUSTOM IDENTIFIER "${CI_SUFFIX}"; ` +
      'INSTANCE is the one the host really belongs to)',
  );
}

function actionsTable(sb: Sandbox, actions: ActionResult[]): void {
  if (actions.length === 0) {
    line('  no actions: nothing to change');
    return;
  }
  const what = (a: ActionResult): string => {
    const d = a.detail ?? {};
    switch (a.kind) {
      case 'set-status':
        return `${d.from} → ${d.to}: ${a.reason}`;
      case 'merge-roles':
        return `roles := ${(d.roleFullnames as string[]).join(', ')} (${a.reason})`;
      case 'report-check':
        return `check ${d.name} ${d.status}`;
      case 'forget-memo':
        return `forget ${d.memo} memo`;
      default:
        return a.reason;
    }
  };
  const rows = actions.map((a) => {
    const h = a.hostId ? sb.mackerel.hosts.get(a.hostId) : undefined;
    return [
      a.kind,
      a.hostId ?? '-',
      h ? short(h.name) : a.instanceId,
      a.outcome + (a.error ? ` (${a.error})` : ''),
      what(a),
    ];
  });
  table(['KIND', 'HOST', 'NAME', 'OUTCOME', 'WHAT / WHY'], rows, [12, 11, 19, 60, 120]);
}

function shortDetail(type: string, d: Record<string, unknown>): string {
  const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));
  switch (type) {
    case 'Host Retired':
      return `${d.hostId} ${short(String(d.hostName))} (${d.reason}, ${d.instanceId})`;
    case 'Host Status Changed':
      return `${d.hostId} ${d.from} → ${d.to} (${d.instanceId})`;
    case 'Duplicate Hosts Detected':
      return `${d.instanceId}: ${list(d.duplicateHostIds)} duplicates canonical host ${d.canonicalHostId}`;
    case 'Duplicate Host Merged':
      return `${d.hostId} merged into ${d.canonicalHostId}, roles ${list(d.rolesMerged)}`;
    case 'IMDS Disabled':
      return `${d.instanceId}, hosts ${list(d.hostIds)}, remediate=${d.remediate}`;
    case 'Circuit Breaker Tripped':
      return String(d.reason);
    default:
      return clip(JSON.stringify(d), 90);
  }
}

function runReport(sb: Sandbox, title: string, report: Report, tap: Tap): void {
  heading(title);
  const c = report.counts;
  line(
    `  report: status=${report.status}${report.skipped ? ` (${report.skipped})` : ''} dryRun=${report.dryRun} ` +
      `hosts=${c.hosts} instances=${c.instances} linked=${c.linkedHosts} foreign=${c.foreignHosts} ` +
      `planned=${c.planned} done=${c.done} failed=${c.failed} (${report.durationMs} ms)`,
  );
  if (report.circuitBreaker) {
    const cb = report.circuitBreaker;
    line(
      `  circuit breaker: ${cb.tripped ? 'TRIPPED' : 'ok'}, ${cb.retirements} retirements of ${cb.ownedHosts} owned hosts ` +
        `(limits ${cb.maxPerRun} / ${cb.maxPercent}%)`,
    );
  }
  if (report.ignoredInstanceIds.length > 0)
    line(`  ignored (opt-out tag): ${report.ignoredInstanceIds.join(', ')}`);
  const foreign = report.foreignHostIds;
  if (foreign.length > 0) {
    const some = foreign.length > 3 ? `${foreign.slice(0, 3).join(', ')}, …` : foreign.join(', ');
    line(`  foreign hosts, untouched: ${foreign.length} (${some})`);
  }
  for (const u of report.unreadableHosts) {
    line(`  unreadable host, quarantined and untouched: ${u.id ?? '(no id)'} (${u.field}: ${u.problem})`);
  }
  if (report.ambiguities.length > 0) {
    line(
      `  ambiguous weak matches: ${report.ambiguities.map((a) => `${a.hostId}→${a.candidates.join('|')}`).join(', ')}`,
    );
  }
  for (const e of report.events ?? []) {
    line(
      `  event ${e.eventId.slice(0, 8)} ${e.instanceId} ${e.state}: ${e.outcome}${e.note ? ` (${e.note})` : ''}`,
    );
  }
  actionsTable(sb, report.actions);
  const events = tap.newEvents;
  if (events.length > 0) {
    line(`  findings published to EventBridge (${events.length}):`);
    for (const e of events) {
      line(
        `    ${e.detailType.padEnd(24)} ${shortDetail(e.detailType, e.detail as Record<string, unknown>)}`,
      );
    }
  }
  const checks = tap.newChecks;
  if (checks.length > 0) {
    line(`  check reports posted to Mackerel (${checks.length}):`);
    for (const r of checks) {
      line(`    ${r.name} ${r.status} on ${r.source.hostId}:`);
      line(wrap(r.message, WIDTH - 8, '      '));
    }
  }
  line(`  Mackerel write calls: ${tap.newWrites.length}`);
}

async function main(): Promise<number> {
  const seed = parseSeed();
  // The SDK's "node >= 22 from 2027" notice is stderr noise here; the runtime choice is made elsewhere.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sb = await startSandbox({ seed });
  line(`mackerel-reconciler demo — sandbox seed ${sb.seed} (again: npm start -- --seed ${sb.seed})`);
  const restoreEnv = sb.applyEnv();
  process.env.DUPLICATE_STALE_MINUTES = '30';
  delete process.env.DRY_RUN;
  delete process.env.IMDS_REMEDIATE;
  // Quiet the Powertools JSON logs; the logger reads these when its module loads, hence the dynamic imports.
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  process.env.LOG_LEVEL = 'WARN';
  // Embedded metrics are for CloudWatch; the demo prints its own summary.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  try {
    const handlers: Handlers = {
      stateChange: (await import('../functions/instance-state-change/handler.js')).handler as Handler,
      sweep: (await import('../functions/sweep/handler.js')).handler as Handler,
      replay: (await import('../functions/replay/handler.js')).handler as Handler,
    };
    const code = await demo(sb, handlers);
    if (code === 0) await demoAlertmanager(sb, handlers).catch((e: unknown) => Promise.reject(new DemoFailure(String(e))));
    return code;
  } catch (e) {
    if (!(e instanceof DemoFailure)) throw e;
    line(`\nDEMO FAILED: ${e.message}`);
    return 1;
  } finally {
    restoreEnv();
    await sb.stop();
  }
}

async function demo(sb: Sandbox, h: Handlers): Promise<number> {
  const fleet = seedFleet(sb, { seed: sb.seed });
  const { cast } = fleet;
  line(
    `account ${sb.accountId}, region ap-northeast-1; DUPLICATE_STALE_MINUTES=30, DRY_RUN unset, IMDS_REMEDIATE unset`,
  );

  // Day 0: the store learns which instances are this account's (ownership), while they still run.
  let tap = new Tap(sb);
  const day0 = await invoke(sb, 'sweep', h.sweep, scheduledEvent({ accountId: sb.accountId }));
  runReport(
    sb,
    `Day 0 — a first sweep over ${sb.ec2.instances.size} instances / ${sb.mackerel.hosts.size} hosts (one instance was stopped overnight)`,
    day0,
    tap,
  );

  fleet.drift();
  heading('Since day 0, the fleet drifted');
  const [t0, t1, t2] = cast.terminated;
  for (const s of [
    `terminated, hosts left working: ${t0.instanceId} (plus an agent-without-IMDS host), ${t1.instanceId}, ${t2.instanceId}`,
    `vanished from DescribeInstances: ${cast.forgotten.instanceId}`,
    `the agent could not reach IMDS and registered a second host: ${cast.duplicateSilent.instanceId} (that host went silent 3 h ago), ${cast.duplicateReporting.instanceId} (still reporting)`,
    `stopped: ${cast.stopped.map((i) => i.instanceId).join(', ')}; stopped with its host in maintenance: ${cast.stoppedMaintenance.instanceId}`,
    `started again: ${cast.restarted.instanceId} (its host was powered off by the day-0 sweep)`,
    `IMDS turned off: ${cast.imdsDisabled.instanceId}`,
    `terminated, but tagged mackerel-reconciler:ignore=true: ${cast.ignored.instanceId}`,
    `and all along: a host of another account's instance ${fleet.foreignInstanceId}`,
  ]) {
    line(`  - ${s}`);
  }

  heading('Before: the Mackerel host list');
  hostsTable(sb, fleet);
  const before = new Map([...sb.mackerel.hosts.values()].map((x) => [x.id, structuredClone(x)]));
  const mainTap = new Tap(sb);

  // 1. Dry run: plans and reports, writes nothing.
  tap = new Tap(sb);
  const dry = await invoke(sb, 'replay', h.replay, { sweep: {}, dryRun: true });
  runReport(sb, 'Dry run — replay {"sweep": {}, "dryRun": true}: what it would do', dry, tap);
  const wouldPublish = Object.entries(dry.findings.detailTypes).map(([t, n]) => `${n}× ${t}`);
  line(`  would publish: ${wouldPublish.join(', ') || 'nothing'}`);
  line(
    `  changed in the fakes: ${tap.newWrites.length} Mackerel writes, ${tap.newEvents.length} findings, ` +
      `${tap.newChecks.length} check reports`,
  );
  if (tap.newWrites.length + tap.newEvents.length + tap.newChecks.length > 0) {
    throw new DemoFailure('the dry run changed something in Mackerel or EventBridge');
  }

  // 2. A state-change event, delivered twice (EventBridge is at-least-once).
  const event = ec2StateChangeEvent({ accountId: sb.accountId, instanceId: t1.instanceId, state: 'terminated' });
  tap = new Tap(sb);
  const first = await invoke(sb, 'instance-state-change', h.stateChange, event);
  runReport(sb, `EC2 state-change event: ${t1.instanceId} terminated`, first, tap);
  tap = new Tap(sb);
  const again = await invoke(sb, 'instance-state-change', h.stateChange, event);
  runReport(sb, 'The same event, delivered again', again, tap);
  const retiredAgain = again.actions.filter((a) => a.kind === 'retire' && a.outcome === 'done').length;
  if (again.events?.[0]?.outcome !== 'duplicate' || retiredAgain > 0) {
    throw new DemoFailure('the redelivered event was not recognised as a duplicate');
  }

  // 3. The scheduled sweep: everything else.
  tap = new Tap(sb);
  const sweep = await invoke(sb, 'sweep', h.sweep, scheduledEvent({ accountId: sb.accountId }));
  runReport(sb, 'Scheduled sweep', sweep, tap);

  // 4. A converged fleet plans nothing and writes nothing.
  tap = new Tap(sb);
  const converged = await invoke(sb, 'sweep', h.sweep, scheduledEvent({ accountId: sb.accountId }));
  runReport(sb, 'Second sweep — converged?', converged, tap);
  const lastWrites = tap.newWrites.length;

  heading('After: the Mackerel host list');
  hostsTable(sb, fleet);

  const unannotated = showAnnotations(sb, { 'day 0': day0, 'dry run': dry, event: first, 'event again': again, sweep, 'second sweep': converged });
  if (unannotated.length > 0) throw new DemoFailure(`graph annotations: ${unannotated.join('; ')}`);

  const reports = [first, again, sweep, converged];
  const after = [...sb.mackerel.hosts.values()];
  const retired = after.filter((x) => x.isRetired && !before.get(x.id)?.isRetired).length;
  const statusChanged = after.filter((x) => !x.isRetired && before.get(x.id)?.status !== x.status).length;
  const merged = reports
    .flatMap((r) => r.actions)
    .filter((a) => a.kind === 'merge-roles' && a.outcome === 'done');
  const checksRaised = mainTap.newChecks.filter((r) => r.status !== 'OK').length;
  heading('Summary');
  line(
    `  ${retired} hosts retired, ${statusChanged} statuses changed, ${merged.length} role merge(s), ` +
      `${checksRaised} checks raised, ${mainTap.newEvents.length} findings published; ` +
      `last sweep: ${converged.counts.planned} actions planned, ${lastWrites} Mackerel write calls`,
  );

  // every run that read the whole host list must have quarantined the malformed hosts, and only them
  const unmet = expectations(sb, fleet, mainTap, { 'the dry run': dry, 'the sweep': sweep, 'the second sweep': converged });
  if (unmet.length === 0)
    line(`  every host ended as the scenario intends (${fleet.hosts.size} hosts checked)`);
  else {
    line(`  ${unmet.length} host(s) did NOT end as the scenario intends:`);
    for (const u of unmet) line(`    ✗ ${u}`);
    throw new DemoFailure(`${unmet.length} host(s) did not end as the scenario intends`);
  }

  if (converged.counts.planned > 0 || lastWrites > 0) {
    throw new DemoFailure(
      `the second sweep is not converged: ${converged.counts.planned} actions planned, ${lastWrites} Mackerel writes`,
    );
  }
  const failed = reports.flatMap((r) => r.actions).filter((a) => a.outcome === 'failed');
  if (failed.length > 0) {
    throw new DemoFailure(
      `${failed.length} action(s) failed: ${failed.map((a) => `${a.key}: ${a.error}`).join('; ')}`,
    );
  }
  await demoHealth(sb, () => invoke(sb, 'sweep', h.sweep, scheduledEvent({ accountId: sb.accountId })));
  heading('ECS tasks, Spot warnings and open alerts (#12)');
  await demoEcs(sb, (message) => new DemoFailure(message));
  return 0;
}

/** What each seeded host should look like now, per its scenario; one line per host that does not. */
function expectations(sb: Sandbox, fleet: Fleet, tap: Tap, listings: Record<string, Report>): string[] {
  const unmet: string[] = [];
  const checks = tap.newChecks;
  for (const f of fleet.hosts.values()) {
    const h = sb.mackerel.hosts.get(f.hostId);
    if (!h) continue;
    const what = `${f.hostId} (${f.note}, ${f.instanceId || 'no instance'})`;
    for (const [run, report] of Object.entries(listings)) {
      const listed = report.unreadableHosts.some((u) => u.id === f.hostId);
      if (listed !== (f.expect.unreadable === true)) {
        unmet.push(`${what}: ${run} ${listed ? 'listed it as unreadable' : 'did not list it as unreadable'}`);
      }
    }
    if (f.expect.retired !== h.isRetired) {
      unmet.push(
        `${what}: expected ${f.expect.retired ? 'retired' : 'live'}, is ${h.isRetired ? 'retired' : h.status}`,
      );
      continue;
    }
    if (!h.isRetired && f.expect.status && f.expect.status !== h.status) {
      unmet.push(`${what}: expected status ${f.expect.status}, is ${h.status}`);
    }
    const roles = rolesOf(h).split(',');
    const missing = (f.expect.roles ?? []).filter((r) => !roles.includes(r));
    if (missing.length > 0) unmet.push(`${what}: missing roles ${missing.join(', ')}`);
    const check = f.expect.check;
    if (
      check &&
      !checks.some((r) => r.name === check && r.status === 'WARNING' && r.source.hostId === h.id)
    ) {
      unmet.push(`${what}: no ${check} WARNING was raised`);
    }
  }
  return unmet;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof DemoFailure) console.error(`DEMO FAILED: ${e.message}`);
    else console.error('DEMO FAILED:', e);
    process.exitCode = 1;
  },
);
