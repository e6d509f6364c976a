/**
 * One planner measurement in a fresh process (run by sections/planner.ts as a bundle under
 * `node --expose-gc`): builds the observation for a fleet of the given size, then times plan() and
 * linkFleet() alone. Prints one JSON line.
 *
 *   node --expose-gc planner-child.mjs <size> <seed> <runs>
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { linkFleet, plan } from '../shared/reconcile/plan.js';
import { BENCH_POLICY, generateFleet, observationOf } from './fleet.js';

const MB = 2 ** 20;

/**
 * Peak resident set of this process image, in bytes. Linux's VmHWM belongs to the image; getrusage's maxrss
 * survives exec and so starts at the parent's RSS when the child was forked (a 143 MB "peak" for 1,000 hosts).
 */
function peakRss(): { bytes: number; source: string } {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return { bytes: Number(m[1]) * 1024, source: 'VmHWM' };
  } catch {
    // not Linux
  }
  return { bytes: process.resourceUsage().maxRSS * 1024, source: 'getrusage maxrss' };
}

/** Garbage-collection pauses, to say how much of a plan's time is the GC's. */
function watchGc() {
  const pauses: { start: number; end: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    /** GC time inside [from, to]; entries arrive asynchronously, so call after they settle */
    within: (from: number, to: number) =>
      pauses.filter((p) => p.start >= from && p.end <= to).reduce((a, p) => a + (p.end - p.start), 0),
    stop: () => obs.disconnect(),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function main(): Promise<void> {
  const [size, seed, runs] = process.argv.slice(2).map(Number);
  if (!size || seed === undefined || Number.isNaN(seed) || !runs) {
    throw new Error('usage: planner-child <size> <seed> <runs>');
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');

  const obs = observationOf(generateFleet({ size, seed }));
  const policy = BENCH_POLICY;
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;

  const gcWatch = watchGc();
  const planMs: number[] = [];
  const spans: [number, number][] = [];
  let t = performance.now();
  let result = plan(obs, policy);
  spans.push([t, performance.now()]);
  planMs.push(performance.now() - t);
  // The peak of one plan, as a Lambda would run it (later runs only add garbage the GC has not yet taken).
  const peak = peakRss();
  for (let r = 1; r < runs; r++) {
    t = performance.now();
    result = plan(obs, policy);
    spans.push([t, performance.now()]);
    planMs.push(performance.now() - t);
  }
  await settle();
  const planGcMs = spans.map(([from, to]) => gcWatch.within(from, to));
  gcWatch.stop();
  gc();
  const planRetained = process.memoryUsage().heapUsed - heapBefore;

  const linkMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    t = performance.now();
    linkFleet(obs);
    linkMs.push(performance.now() - t);
  }
  process.stdout.write(
    `${JSON.stringify({
      size,
      hosts: obs.hosts.length,
      actions: result.actions.length,
      planMs,
      planGcMs,
      linkMs,
      rssBeforeMB: rssBefore / MB,
      peakRssMB: peak.bytes / MB,
      peakRssSource: peak.source,
      planRetainedMB: planRetained / MB,
    })}\n`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
