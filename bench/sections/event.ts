/**
 * Event path: the real instance-state-change handler, one event at a time, each for a different instance of a
 * fleet a sweep has already seen. Events alternate terminated / stopped; each invocation's calls are counted
 * from the sandbox and its wall time taken around the handler call.
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
  const ec2All = sum(c.ec2);
  return {
    'EC2 DescribeInstances': c.ec2.DescribeInstances ?? 0,
    'Mackerel host look-ups': hostLookups,
    'action calls (Mackerel writes + EC2 modify)': mackerelAll - hostLookups - m('GET /api/v0/tsdb/latest') + (ec2All - (c.ec2.DescribeInstances ?? 0)),
    'Mackerel other reads': m('GET /api/v0/tsdb/latest'),
    'EventBridge PutEvents': c.eventBridge.PutEvents,
    'DynamoDB requests': sum(c.dynamodb),
  };
}

function expectDone(kind: Kind, report: Report): string | undefined {
  const want = kind === 'terminated' ? 'retire' : 'set-status';
  const done = report.actions.filter((a) => a.kind === want && a.outcome === 'done').length;
  const outcome = report.events?.[0]?.outcome;
  if (done !== 1 || outcome !== 'reconciled') {
    return `${kind} event: ${done} ${want} done, event ${outcome ?? 'not reported'} (expected 1, reconciled)`;
  }
  return undefined;
}

export async function eventBench(opts: {
  size: number;
  events: number;
  seed: number;
  latencyMs: number;
}): Promise<Data> {
  const fleet = generateFleet({ size: opts.size, seed: opts.seed });
  const targets = fleet.instances.filter((i) => i.group === 'steady').map((i) => i.instanceId);
  if (targets.length < opts.events + 1) {
    throw new RangeError(`a fleet of ${opts.size} has ${targets.length} steady instances, fewer than ${opts.events + 1} events`);
  }
  const h = await startHarness({ latencyMs: opts.latencyMs, seed: opts.seed, env: SWEEP_BENCH_ENV });
  try {
    seedDay0(fleet, h.sb);
    // The store learns the fleet (ownership, links) the way it does in production: from a sweep.
    await h.sweep();
    const problems: string[] = [];

    const run = async (instanceId: string, kind: Kind) => {
      h.sb.ec2.setState(instanceId, kind);
      return h.measure(() => h.stateChange(instanceId, kind));
    };
    // One event first, not counted: the event path's code runs for the first time (JIT, connection set-up).
    await run(targets[opts.events] as string, 'stopped');

    const samples = new Map<Kind, { calls: CallCounts[]; ms: number[] }>(KINDS.map((k) => [k, { calls: [], ms: [] }]));
    for (let i = 0; i < opts.events; i++) {
      const kind = KINDS[i % 2] as Kind;
      const m = await run(targets[i] as string, kind);
      const problem = expectDone(kind, m.result);
      if (problem && problems.length < 5) problems.push(problem);
      const s = samples.get(kind);
      s?.calls.push(m.calls);
      s?.ms.push(m.wallMs);
    }

    const kinds: EventKind[] = KINDS.map((kind) => {
      const s = samples.get(kind) as { calls: CallCounts[]; ms: number[] };
      const families = s.calls.map(eventCallFamilies);
      const calls: Record<string, { min: number; max: number }> = {};
      for (const name of Object.keys(families[0] ?? {})) {
        const values = families.map((f) => f[name] ?? 0);
        calls[name] = { min: Math.min(...values), max: Math.max(...values) };
      }
      // Per-route figures of one typical invocation (the first), to show what each family is made of.
      const first = s.calls[0] as CallCounts;
      return {
        kind,
        events: s.ms.length,
        calls,
        mackerel: first.mackerel,
        ec2: first.ec2,
        dynamodb: first.dynamodb,
        latencyMs: {
          p50: percentile(s.ms, 50),
          p99: percentile(s.ms, 99),
          mean: mean(s.ms),
          max: Math.max(...s.ms),
        },
      };
    });
    const all = [...samples.values()].flatMap((s) => s.ms);
    return {
      problems,
      fleet: { instances: fleet.instances.length, hosts: h.sb.mackerel.hosts.size },
      kinds,
      all: { events: all.length, p50: percentile(all, 50), p99: percentile(all, 99) },
    };
  } finally {
    await h.stop();
  }
}
