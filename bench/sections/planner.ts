/**
 * Planner scaling: plan() alone over fleets of 1k, 10k and 100k instances (one host each, plus the drift of
 * bench/fleet.ts), each size in a fresh Node process so that one size's heap does not flatter or burden the
 * next. The child is bundled with esbuild and run by plain `node`, so no TypeScript loader sits in its memory.
 */
import type { PlannerSize } from '../results.js';
import { median } from '../stats.js';
import { bundleBenchScript, runBenchScript } from '../bundle.js';


interface ChildOutput {
  size: number;
  hosts: number;
  actions: number;
  planMs: number[];
  planGcMs: number[];
  linkMs: number[];
  rssBeforeMB: number;
  peakRssMB: number;
  peakRssSource: string;
  planRetainedMB: number;
}

function runChild(file: string, size: number, seed: number, runs: number): Promise<ChildOutput> {
  return runBenchScript<ChildOutput>(file, [String(size), String(seed), String(runs)], `planner child (size ${size})`);
}

export async function plannerBench(opts: {
  seed: number;
  sizes: { size: number; runs: number }[];
  onSize?: (s: PlannerSize) => void;
}): Promise<PlannerSize[]> {
  const file = await bundleBenchScript('planner-child');
  const out: PlannerSize[] = [];
  for (const { size, runs } of opts.sizes) {
    const c = await runChild(file, size, opts.seed, runs);
    const planMedian = median(c.planMs);
    const s: PlannerSize = {
      size,
      hosts: c.hosts,
      actions: c.actions,
      runs,
      linkFleetMs: { first: c.linkMs[0] ?? Number.NaN, median: median(c.linkMs) },
      planMs: { first: c.planMs[0] ?? Number.NaN, median: planMedian, max: Math.max(...c.planMs) },
      planGcMs: { first: c.planGcMs[0] ?? Number.NaN, median: median(c.planGcMs) },
      perHostUs: (planMedian * 1000) / c.hosts,
      rssBeforeMB: c.rssBeforeMB,
      peakRssMB: c.peakRssMB,
      peakRssSource: c.peakRssSource,
      planRetainedMB: c.planRetainedMB,
    };
    opts.onSize?.(s);
    out.push(s);
  }
  return out;
}
