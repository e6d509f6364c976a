/** What a command runs with, and the one engine call both commands make. */
import type { Report } from '../shared/reconcile/run.js';
import { runInstances, runSweep } from '../shared/reconcile/run.js';
import type { Runtime } from '../shared/runtime.js';
import type { Options } from './args.js';
import type { Io } from './io.js';
import type { ProgressLine } from './progress.js';

export interface CommandContext {
  rt: Runtime;
  options: Options;
  io: Io;
  progress: ProgressLine;
}

/**
 * The sweep the Lambda runs (or, with --instance, the replay of given instances), under the progress line
 * labelled `label`. `only`: perform just these action keys (apply's confirmed plan).
 */
export async function reconcile(
  ctx: CommandContext,
  label: string,
  run: { dryRun: boolean; only?: ReadonlySet<string> },
): Promise<Report> {
  const opts = { trigger: 'cli' as const, ...run };
  ctx.progress.begin(label);
  try {
    const ids = ctx.options.instanceIds;
    return ids.length > 0 ? await runInstances(ctx.rt, ids, opts) : await runSweep(ctx.rt, opts);
  } finally {
    ctx.progress.end();
  }
}
