/**
 * Event path: the real instance-state-change handler, one event at a time, each for a different instance of a
 * fleet a sweep has already seen, with every host carrying an agent's real meta. Events alternate terminated /
 * stopped; each invocation's calls and the bytes it read from Mackerel are counted from the sandbox, its wall time
 * taken around the handler call. The handler runs in a process of its own (a warm Lambda container), so that its
 * peak resident set is the code under test's; the day-0 sweep that teaches the store the fleet runs in another.
 */
import type { Report } from '../../shared/reconcile/run.js';
import { type CallCounts, sum } from '../calls.js';
import { generateFleet, seedDay0 } from '../fleet.js';
import { startHarness } from '../harness.js';
import type { EventKind, EventRun } from '../results.js';
import { mean, percentile } from '../stats.js';
import { SWEEP_BENCH_ENV } from './sweep.js';

type Data = EventRun & { problems: string[] };
const KINDS = ['terminated', 'stopped'] as const;
type Kind = (typeof KINDS)[number];


/** Calls of one invocation by what the goal counts: the EC2 look-up, the host look-up, the action, … */
export function eventCallFamilies(c: CallCounts): Record<string, number> {
  const m = (r: string) => c.mackerel[r] ?? 0;
  const hostLookups = m('GET /api/v0/hosts') + m('GET /api/v0/hosts-by-custom-identifier/:id') + m('GET /api/v0/hosts/:id');
  const mackerelAll = sum(c.mackerel);
  const annotations = m('POST /api/v0/graph-annotations');
  const alertsListing = m('GET /api/v0/alerts');
  const ec2All = sum(c.ec2);
  return {
    'EC2 DescribeInstances': c.ec2.DescribeInstances ?? 0,
    'Mackerel host look-ups': hostLookups,
    'action calls (Mackerel writes + EC2 modify)':
      mackerelAll - hostLookups - m('GET /api/v0/tsdb/latest') - annotations - alertsListing + (ec2All - (c.ec2.DescribeInstances ?? 0)),
    // a poweroff reads the open alerts once (#12), to close the powered-off host's: not the action itself
    'Mackerel open-alerts listing': alertsListing,
    // after the action: one per service of the host it retired or powered off (not the action itself)
    'Mackerel graph annotations': annotations,
    'Mackerel other reads': m('GET /api/v0/tsdb/latest'),
    'EventBridge PutEvents': c.eventBridge.PutEvents,
    'DynamoDB requests': sum(c.dynamodb),
  };
}

/** Every call of one invocation, all APIs together: what "calls per event" counts. */
export const callsOf = (c: CallCounts) => sum(c.mackerel) + sum(c.ec2) + c.eventBridge.PutEvents + sum(c.dynamodb);

function expectDone(kind: Kind, report: Report): string | undefined {
  const want = kind === 'terminated' ? 'retire' : 'set-status';
  const done = report.actions.filter((a) => a.kind === want && a.outcome === 'done').length;
  const outcome = report.events?.[0]?.outcome;
  if (done !== 1 || outcome !== 'reconciled') {
    return `${kind} event: ${done} ${want} done, event ${outcome ?? 'not reported'} (expected 1, reconciled)`;
  }
  return undefined;
}

const spread = (values: number[]) => ({ min: Math.min(...values), max: Math.max(...values), mean: mean(values) });

export async function eventBench(opts: {
  size: number;
  events: number;
  seed: number;
  latencyMs: number;
  /** bounds each handler call (default: the function's deployed timeout and a grace, bench/child.ts) */
  timeoutMs?: number;
  onProgress?: (line: string) => void;
}): Promise<Data> {
  const fleet = generateFleet({ size: opts.size, seed: opts.seed });
  const targets = fleet.instances.filter((i) => i.group === 'steady').map((i) => i.instanceId);
  if (targets.length < opts.events + 1) {
    throw new RangeError(`a fleet of ${opts.size} has ${targets.length} steady instances, fewer than ${opts.events + 1} events`);
  }
  const h = await startHarness({ latencyMs: opts.latencyMs, seed: opts.seed, env: SWEEP_BENCH_ENV });
  try {
    seedDay0(fleet, h.sb);
    const problems: string[] = [];
    const problem = (p: string) => {
      if (problems.length < 6) problems.push(p);
    };
    // The store learns the fleet (ownership, links) the way it does in production: from a sweep, in a process
    // of its own so that its memory is not the event handler's.
    const day0Proc = await h.reconciler();
    const day0 = await h.sweepIn(day0Proc);
    await day0Proc.stop();
    const day0Error = day0.inv.ok ? (day0.inv.report.status === 'skipped' ? `skipped: ${day0.inv.report.skipped}` : undefined) : day0.inv.error;
    if (day0Error) problem(`the day-0 sweep failed (${day0Error}); the events ran against a store that has not seen the fleet`);
    opts.onProgress?.(`event: ${opts.size} instances, day-0 sweep ${day0Error ? 'FAILED' : 'done'} in ${(day0.inv.wallMs / 1000).toFixed(1)} s`);

    const proc = await h.reconciler(opts.timeoutMs);
    let peak: { peakRssMB?: number; peakRssSource?: string } = {};
    let failed = 0;
    const run = async (instanceId: string, kind: Kind) => {
      h.sb.ec2.setState(instanceId, kind);
      const m = await h.stateChangeIn(proc, instanceId, kind);
      // VmHWM only grows: the last answer holds the peak over every event so far
      if (m.inv.peakRssMB !== undefined) peak = { peakRssMB: m.inv.peakRssMB, peakRssSource: m.inv.peakRssSource ?? 'VmHWM' };
      return m;
    };
    try {
      // One event first, not counted: the event path's code runs for the first time (JIT, connection set-up).
      await run(targets[opts.events] as string, 'stopped');

      const samples = new Map<Kind, { calls: CallCounts[]; ms: number[] }>(KINDS.map((k) => [k, { calls: [], ms: [] }]));
      for (let i = 0; i < opts.events; i++) {
        const kind = KINDS[i % 2] as Kind;
        const m = await run(targets[i] as string, kind);
        if (m.inv.ok) {
          const p = expectDone(kind, m.inv.report);
          if (p) problem(p);
        } else {
          failed++;
          problem(`${kind} event failed: ${m.inv.error}`);
        }
        const s = samples.get(kind);
        s?.calls.push(m.calls);
        s?.ms.push(m.inv.wallMs);
        if ((i + 1) % 10 === 0) opts.onProgress?.(`event: ${opts.size} instances, ${i + 1}/${opts.events} events`);
        // a dead process answers every later event at once with its death: no figures in those
        if (!proc.alive) {
          problem(`the reconciler process died after ${i + 1} of ${opts.events} events; the rest were not run`);
          break;
        }
      }

      // a kind with no sample (the process died at the first event) has no figures
      const kinds: EventKind[] = KINDS.filter((k) => (samples.get(k)?.ms.length ?? 0) > 0).map((kind) => {
        const s = samples.get(kind) as { calls: CallCounts[]; ms: number[] };
        const families = s.calls.map(eventCallFamilies);
        const calls: Record<string, { min: number; max: number }> = {};
        for (const name of Object.keys(families[0] ?? {})) {
          const values = families.map((f) => f[name] ?? 0);
          calls[name] = { min: Math.min(...values), max: Math.max(...values) };
        }
        // Per-route figures of one typical invocation (the first), to show what each family is made of.
        const first = s.calls[0];
        return {
          kind,
          events: s.ms.length,
          calls,
          callsPerEvent: spread(s.calls.map(callsOf)),
          mackerelBytes: spread(s.calls.map((c) => c.bytes.mackerel)),
          mackerel: first?.mackerel ?? {},
          ec2: first?.ec2 ?? {},
          dynamodb: first?.dynamodb ?? {},
          latencyMs: { p50: percentile(s.ms, 50), p99: percentile(s.ms, 99), mean: mean(s.ms), max: Math.max(...s.ms) },
        };
      });
      const all = [...samples.values()].flatMap((s) => s.ms);
      const allCalls = [...samples.values()].flatMap((s) => s.calls);
      return {
        problems,
        fleet: { instances: fleet.instances.length, hosts: h.sb.mackerel.hosts.size },
        kinds,
        all: { events: all.length, p50: percentile(all, 50), p99: percentile(all, 99) },
        callsPerEvent: mean(allCalls.map(callsOf)),
        mackerelBytesPerEvent: mean(allCalls.map((c) => c.bytes.mackerel)),
        failed,
        ...peak,
        day0: { ok: day0Error === undefined, wallMs: day0.inv.wallMs, ...(day0Error ? { error: day0Error } : {}) },
      };
    } finally {
      await proc.stop();
    }
  } finally {
    await h.stop();
  }
}
