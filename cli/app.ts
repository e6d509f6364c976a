/** The command line from argv to exit code: parse, refuse early what cannot work, build, run, explain errors. */
import { apply } from './apply.js';
import { type Options, parseCommandLine, USAGE, UsageError } from './args.js';
import { EXIT, type ExitCode } from './exit.js';
import { explain, whereabouts } from './explain.js';
import type { Io } from './io.js';
import { cliLogger } from './log.js';
import { plan } from './plan.js';
import { ProgressLine } from './progress.js';
import { cliRuntime } from './runtime.js';

const NAME = 'mackerel-reconciler';

export async function cli(argv: readonly string[], io: Io): Promise<ExitCode> {
  let options: Options;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.help) {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    options = parsed.options;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // One line and where to look: the whole usage would bury the line that says what is wrong.
    io.stderr.write(`${NAME}: ${e.message} (see --help)\n`);
    return EXIT.usage;
  }

  // Refused before anything is read: waiting for an answer no one can type would hang a script.
  // (A saved plan asks nothing: it was reviewed when it was saved.)
  if (options.command === 'apply' && !options.yes && options.planFile === undefined && !io.stdin.isTTY) {
    io.stderr.write(
      `${NAME}: apply asks for confirmation, but stdin is not a terminal. ` +
        'Review the plan with "plan", then run "apply --yes".\n',
    );
    return EXIT.failed;
  }

  const progress = new ProgressLine(io.stderr, { quiet: options.quiet });
  const logger = cliLogger((line) => progress.print(line), options.verbose ? 'debug' : 'warn');
  try {
    const rt = await cliRuntime(options, io.env, logger, progress.update);
    const ctx = { rt, options, io, progress };
    return options.command === 'plan' ? await plan(ctx) : await apply(ctx);
  } catch (e) {
    progress.end();
    io.stderr.write(`${NAME}: ${explain(e, whereabouts(io.env, options.table))}\n`);
    if (options.verbose && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return EXIT.failed;
  }
}
