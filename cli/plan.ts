/** `plan`: the sweep as a dry run, printed as a table (or the report as JSON). Writes nothing anywhere. */
import type { CommandContext } from './command.js';
import { reconcile } from './command.js';
import { EXIT, type ExitCode } from './exit.js';
import { widthOf } from './io.js';
import { savedPlanOf, writePlan } from './saved-plan.js';
import { plural, renderPlan } from './table.js';

export async function plan(ctx: CommandContext): Promise<ExitCode> {
  const { options, io, rt } = ctx;
  const report = await reconcile(ctx, 'plan', { dryRun: true });
  if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    io.stdout.write(renderPlan(report, { width: widthOf(io.stdout) }));
    io.stdout.write('Dry run: nothing was written to Mackerel, EC2, EventBridge or DynamoDB.\n');
  }
  if (options.out !== undefined) {
    // An incomplete plan is not saved: applying it would retire nothing where it should, or worse, mislead.
    if (report.status !== 'ok') {
      io.stderr.write(`mackerel-reconciler: the plan is incomplete, not saved to ${options.out}\n`);
      return options.detailedExitcode ? EXIT.incomplete : EXIT.failed;
    }
    const { maxRetirePerRun, maxRetirePercent } = rt.config;
    const saved = savedPlanOf(report, {
      regions: rt.config.regions,
      instanceIds: options.instanceIds,
      limits: { maxRetirePerRun, maxRetirePercent },
    });
    await writePlan(options.out, saved);
    const human = options.json ? io.stderr : io.stdout;
    human.write(
      `Saved the plan (${plural(saved.actionKeys.length, 'action')}) to ${options.out}: ` +
        `"apply ${options.out}" performs exactly these actions.\n`,
    );
  }
  // A region that could not be read leaves the plan incomplete: say so in the exit code too.
  if (report.status !== 'ok') return options.detailedExitcode ? EXIT.incomplete : EXIT.failed;
  // Held retirements are changes pending too: they wait for a person's decision.
  return options.detailedExitcode && report.actions.length > 0 ? EXIT.changes : EXIT.ok;
}
