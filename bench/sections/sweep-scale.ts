/**
 * Sweep at scale (issues #9 and #16): the real sweep handler over 10,000, 50,000 and 100,000 instances, one host
 * each with an agent's real meta (4–6 KB of JSON a host), at the injected latency: its wall time, the bytes it read
 * and its peak resident set. Each sweep runs in a fresh process (a cold Lambda container) so that the peak is the
 * code under test's alone: the fakes and dynalite stay in this one. A sweep that fails is a figure too: its error
 * is recorded and reported as a PROBLEM, and the next size still runs.
 */
import { sum } from '../calls.js';
import { applyDrift, type Fleet, generateFleet, seedDay0 } from '../fleet.js';
import type { Sandbox } from '../../sandbox/index.js';
import { startHarness } from '../harness.js';
import type { SweepScaleSize } from '../results.js';
import { oddHostsTouched, SWEEP_BENCH_ENV, workProblems } from './sweep.js';


type Step = SweepScaleSize['day0'];

export async function sweepScaleSize(opts: {
  size: number;
  seed: number;
  latencyMs: number;
  /** bounds each sweep (default: the function's deployed timeout and a grace, bench/child.ts) */
  timeoutMs?: number;
  onProgress?: (line: string) => void;
  /** called once the fakes hold the fleet, before any sweep (e.g. to inject faults) */
  onSeeded?: (sb: Sandbox) => void;
}): Promise<{ data: SweepScaleSize; problems: string[]; fleet: Fleet }> {
  const fleet = generateFleet({ size: opts.size, seed: opts.seed });
  const h = await startHarness({ latencyMs: opts.latencyMs, seed: opts.seed, env: SWEEP_BENCH_ENV });
  const problems: string[] = [];
  const say = (s: string) => opts.onProgress?.(`sweep-scale: ${opts.size.toLocaleString('en-US')} instances, ${s}`);
  try {
    seedDay0(fleet, h.sb);
    opts.onSeeded?.(h.sb);
    say('seeded');
    // Each sweep in a fresh process: the day-0 one writes every sighting, the measured one repairs the drift.
    const step = async (): Promise<{ step: Step; report?: Parameters<typeof workProblems>[1] }> => {
      const proc = await h.reconciler(opts.timeoutMs);
      try {
        const { inv, calls } = await h.sweepIn(proc);
        // a sweep skipped for the lease (one before it died holding it) did none of the work: not a success
        const error = inv.ok ? (inv.report.status === 'skipped' ? `skipped: ${inv.report.skipped}` : undefined) : inv.error;
        const out: Step = {
          ok: error === undefined,
          wallMs: inv.wallMs,
          ...(inv.peakRssMB === undefined ? {} : { peakRssMB: inv.peakRssMB, peakRssSource: inv.peakRssSource ?? 'VmHWM' }),
          mackerelBytes: calls.bytes.mackerel,
          ec2Bytes: calls.bytes.ec2,
          calls: { mackerel: sum(calls.mackerel), ec2: sum(calls.ec2), eventBridge: calls.eventBridge.PutEvents, dynamodb: sum(calls.dynamodb) },
          mackerelRoutes: calls.mackerel,
          ...(error === undefined ? {} : { error }),
        };
        return { step: out, ...(inv.ok && error === undefined ? { report: inv.report } : {}) };
      } finally {
        await proc.stop();
      }
    };
    const day0 = await step();
    say(`day-0 sweep ${day0.step.ok ? 'done' : 'FAILED'} in ${(day0.step.wallMs / 1000).toFixed(1)} s`);
    if (!day0.step.ok) problems.push(`${opts.size.toLocaleString('en-US')} instances: the day-0 sweep failed: ${day0.step.error}`);

    applyDrift(fleet, h.sb);
    const measured = await step();
    say(`measured sweep ${measured.step.ok ? 'done' : 'FAILED'} in ${(measured.step.wallMs / 1000).toFixed(1)} s`);
    let workDone = false;
    if (!measured.step.ok) problems.push(`${opts.size.toLocaleString('en-US')} instances: the sweep failed: ${measured.step.error}`);
    else if (!day0.step.ok) problems.push(`${opts.size.toLocaleString('en-US')} instances: the sweep ran, but not over a fleet the store had seen: its work is not the drift's`);
    else if (measured.report) {
      // the work is only the fleet's drift when day 0 taught the store the fleet
      const found = [...workProblems(fleet, measured.report), ...oddHostsTouched(fleet, h.sb)];
      problems.push(...found.map((p) => `${opts.size.toLocaleString('en-US')} instances: ${p}`));
      workDone = found.length === 0;
    }
    return {
      fleet,
      problems,
      data: {
        instances: fleet.instances.length,
        hosts: h.sb.mackerel.hosts.size,
        workDone,
        ...measured.step,
        day0: day0.step,
      },
    };
  } finally {
    await h.stop();
  }
}

export async function sweepScaleBench(opts: {
  sizes: number[];
  seed: number;
  latencyMs: number;
  timeoutMs?: number;
  onProgress?: (line: string) => void;
}): Promise<{ sizes: SweepScaleSize[]; problems: string[] }> {
  const sizes: SweepScaleSize[] = [];
  const problems: string[] = [];
  for (const size of opts.sizes) {
    const r = await sweepScaleSize({ ...opts, size });
    sizes.push(r.data);
    problems.push(...r.problems);
  }
  return { sizes, problems };
}
