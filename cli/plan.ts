/** `plan`: the sweep as a dry run, printed as a table (or the report as JSON). Writes nothing anywhere. */
import type { CommandContext } from './command.js';
import { reconcile } from './command.js';
import { EXIT, type ExitCode } from './exit.js';
import { widthOf } from './io.js';
import { renderPlan } from './table.js';

export async function plan(ctx: CommandContext): Promise<ExitCode> {
  const { options, io } = ctx;
  const report = await reconcile(ctx, 'plan', { dryRun: true });
  if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    io.stdout.write(renderPlan(report, { width: widthOf(io.stdout) }));
    io.stdout.write('Dry run: nothing was written to Mackerel, EC2, EventBridge or DynamoDB.\n');
  }
  // A region that could not be read leaves the plan incomplete: say so in the exit code too.
  if (report.status !== 'ok') return EXIT.failed;
  return options.detailedExitcode && report.actions.length > 0 ? EXIT.changes : EXIT.ok;
}
