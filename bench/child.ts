/**
 * Running the code under test in a child process (bench/reconciler-child.ts), so that its peak resident set is
 * measured alone: the fake servers and dynalite stay in this process. The child is bundled with the deployment's
 * esbuild options and started with plain `node` (no TypeScript loader in its memory). A child that dies, or does
 * not answer in time, turns into an error answer naming what happened; it never hangs the benchmark.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parseDocument } from 'yaml';
import type { Report } from '../shared/reconcile/run.js';
import { deployBuildOptions } from './esbuild-options.js';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT_DIR = join(ROOT, '.esbuild', 'bench', 'reconciler');

/** One invocation, as the child saw it. */
export type Invocation =
  | { ok: true; wallMs: number; report: Report; rssMB: number; peakRssMB: number; peakRssSource: string }
  | { ok: false; wallMs: number; error: string; rssMB?: number; peakRssMB?: number; peakRssSource?: string };

export type HandlerName = 'sweep' | 'instance-state-change';

/**
 * Each function's timeout as deployed (serverless.yml `functions.<name>.timeout`, seconds), in ms: the invocation
 * context counts down from it, as Lambda's does, and middy ends a run that reaches it.
 */
export function deployedTimeoutsMs(root: string = ROOT): Record<HandlerName, number> {
  const doc = parseDocument(readFileSync(join(root, 'serverless.yml'), 'utf8')).toJS() as {
    functions?: Record<string, { timeout?: unknown }>;
  } | null;
  const of = (name: HandlerName) => {
    const t = doc?.functions?.[name]?.timeout;
    if (typeof t !== 'number' || !(t > 0)) throw new Error(`serverless.yml: functions.${name}.timeout is not a number of seconds`);
    return t * 1000;
  };
  return { sweep: of('sweep'), 'instance-state-change': of('instance-state-change') };
}

/** Past its deployed timeout, a run that has not answered is killed after this much more. */
const WATCHDOG_GRACE_MS = 2 * 60_000;

export interface ReconcilerProcess {
  /** Invokes a handler in the child; resolves with its report or the error, never rejects. */
  invoke(handler: HandlerName, event: unknown, functionArn: string): Promise<Invocation>;
  /** whether the child is still alive */
  readonly alive: boolean;
  stop(): Promise<void>;
}

let bundled: Promise<string> | undefined;

/** Builds the child once per benchmark run. */
export function bundleReconcilerChild(): Promise<string> {
  bundled ??= (async () => {
    const { options } = await deployBuildOptions(ROOT);
    mkdirSync(OUT_DIR, { recursive: true });
    const outfile = join(OUT_DIR, options.format === 'cjs' ? 'reconciler-child.cjs' : 'reconciler-child.mjs');
    await build({
      ...options,
      entryPoints: [join(ROOT, 'bench', 'reconciler-child.ts')],
      outfile,
      outdir: undefined,
      // readable stack traces in an error answer; the size of this bundle is not what is measured
      minify: false,
      sourcemap: false,
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundled;
}

const STDERR_KEPT = 4000;

/**
 * Starts the child with `env` (and nothing of this process's environment but PATH and HOME). Each invocation gets its
 * function's deployed timeout; one that has not answered by then and `WATCHDOG_GRACE_MS` more (or by `timeoutMs`,
 * when given) has its child killed and answers an error.
 */
export async function startReconciler(opts: { env: Record<string, string>; timeoutMs?: number }): Promise<ReconcilerProcess> {
  const file = await bundleReconcilerChild();
  const deployed = deployedTimeoutsMs();
  const child: ChildProcess = fork(file, [], {
    execPath: process.execPath,
    // not this process's flags: under tsx they would load a TypeScript loader into the child
    execArgv: [],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_KEPT);
  });
  let exited: string | undefined;
  const waiting = new Map<number, { answer: (inv: Invocation) => void; t0: number }>();
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = `the reconciler process exited (${signal ?? `code ${code}`})${stderrTail(stderr)}`;
      for (const w of waiting.values()) w.answer({ ok: false, wallMs: performance.now() - w.t0, error: exited });
      waiting.clear();
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready?: boolean }) => {
      if (!m.ready) return;
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
    void exitedPromise.then(() => reject(new Error(exited)));
  });
  child.on('message', (m: { id?: number } & Record<string, unknown>) => {
    if (m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    const { id: _id, ...inv } = m;
    w?.answer(inv as unknown as Invocation);
  });

  let next = 0;
  return {
    get alive() {
      return exited === undefined;
    },
    invoke(handler, event, functionArn) {
      if (exited !== undefined) return Promise.resolve({ ok: false, wallMs: 0, error: exited });
      const id = ++next;
      const t0 = performance.now();
      const watchdogMs = opts.timeoutMs ?? deployed[handler] + WATCHDOG_GRACE_MS;
      return new Promise<Invocation>((resolve) => {
        const timer = setTimeout(() => {
          if (!waiting.delete(id)) return;
          child.kill('SIGKILL');
          resolve({ ok: false, wallMs: performance.now() - t0, error: `no answer within ${Math.round(watchdogMs / 1000)} s: the reconciler process was killed` });
        }, watchdogMs);
        waiting.set(id, {
          t0,
          answer: (inv) => {
            clearTimeout(timer);
            resolve(inv);
          },
        });
        child.send({ id, handler, event, functionArn, timeoutMs: deployed[handler] });
      });
    },
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM');
        await exitedPromise;
      }
    },
  };
}

function stderrTail(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  if (lines.length === 0) return '';
  // an out-of-memory abort prints its reason first and a native stack after it
  const reason = lines.find((l) => /FATAL ERROR|heap out of memory|Error/.test(l)) ?? lines[lines.length - 1];
  return `: ${(reason ?? '').trim().slice(0, 300)}`;
}
