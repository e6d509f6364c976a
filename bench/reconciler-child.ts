/**
 * The reconciler in a process of its own: a warm Lambda container, driven by the benchmark over IPC, so that the
 * peak resident set measured is the code under test's and not the fake servers' (they live in the parent). Bundled
 * with the deployment's esbuild options and run by plain `node` (bench/child.ts); the environment points the
 * handlers at the parent's sandbox.
 *
 * in:  { id, handler: 'sweep' | 'instance-state-change', event, functionArn, timeoutMs }
 * out: { ready: true } once, then per request { id, ok, wallMs, report | error, rssMB, peakRssMB }
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { handler as stateChangeHandler } from '../functions/instance-state-change/handler.js';
import { handler as sweepHandler } from '../functions/sweep/handler.js';
import { lambdaContext } from '../sandbox/lambda-context.js';

const MB = 2 ** 20;

/** Peak resident set of this process image (Linux VmHWM; getrusage maxrss would start at the parent's, see planner-child). */
export function peakRssBytes(): { bytes: number; source: string } {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return { bytes: Number(m[1]) * 1024, source: 'VmHWM' };
  } catch {
    // not Linux
  }
  return { bytes: process.resourceUsage().maxRSS * 1024, source: 'getrusage maxrss' };
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;
const HANDLERS: Record<string, Handler> = {
  sweep: sweepHandler as Handler,
  'instance-state-change': stateChangeHandler as Handler,
};

interface Request {
  id: number;
  handler: string;
  event: unknown;
  functionArn: string;
  /** the function's configured timeout: the context counts down from it (middy ends the run early on it) */
  timeoutMs: number;
}

const send = (m: unknown) => process.send?.(m);

process.on('message', (raw: unknown) => {
  const req = raw as Request;
  const run = async () => {
    const handler = HANDLERS[req.handler];
    const t0 = performance.now();
    try {
      if (!handler) throw new Error(`no handler ${req.handler}`);
      const report = await handler(req.event, lambdaContext(req.functionArn, { timeoutMs: req.timeoutMs }));
      return { ok: true, wallMs: performance.now() - t0, report };
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return { ok: false, wallMs: performance.now() - t0, error };
    }
  };
  void run().then((out) => {
    const peak = peakRssBytes();
    send({ id: req.id, ...out, rssMB: process.memoryUsage().rss / MB, peakRssMB: peak.bytes / MB, peakRssSource: peak.source });
  });
});

send({ ready: true, rssMB: process.memoryUsage().rss / MB });
