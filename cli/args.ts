/** The command line's grammar: `plan` or `apply` and their flags, checked before anything is read. */
import { parseArgs } from 'node:util';
import { isRegion } from '../shared/config.js';
import { clipText } from '../shared/errors.js';
import { parseDuration } from './saved-plan.js';

export const USAGE = `Usage: npm run reconciler -- <command> [options]
       node --import tsx cli/main.ts <command> [options]

Commands:
  plan          show what a sweep would change in Mackerel, and why (a dry run: writes nothing anywhere)
  apply         plan, ask "Apply N actions? [y/N]", then perform exactly the actions shown
  apply <file>  perform exactly the plan saved by "plan --out <file>" (no question: it was reviewed)

Options:
  --regions <r1,r2>     regions to reconcile (default: REGIONS, else AWS_REGION)
  --table <name>        DynamoDB state table (default: STATE_TABLE)
  --instance <i-...>    only these instances, like a replay of instance ids (repeatable, or comma list)
  --json                print the report as JSON on stdout; progress, logs and prompts go to stderr
  -y, --yes             apply: do not ask for confirmation (needed when stdin is not a terminal)
  --detailed-exitcode   plan: exit 3 when there are changes to apply (or held back)
  --out <file>          plan: also save the plan there, for "apply <file>"
  --max-age <duration>  apply <file>: refuse a plan older than this (default 1h; e.g. 30m, 2h, 90s)
  --max-retire <n>      this run only: the circuit breaker's MAX_RETIRE_PER_RUN
  --max-retire-percent <p>  this run only: the circuit breaker's MAX_RETIRE_PERCENT
  -q, --quiet           no progress lines
  -v, --verbose         log the engine's info messages (stderr)
  -h, --help            this help

Exit codes: 0 ok (plan: also with changes, unless --detailed-exitcode); 1 error, a region that could not
be read, a failed action, or apply refused or cancelled; 2 bad command line; 3 plan --detailed-exitcode
with changes pending; 4 plan --detailed-exitcode, incomplete (a region could not be read).

Configuration comes from the same environment as the Lambda functions (MACKEREL_APIKEY or
MACKEREL_APIKEY_PARAMETER, STATE_TABLE, REGIONS, MAX_RETIRE_PER_RUN, ...); AWS credentials and the
state table's region (AWS_REGION, AWS_PROFILE, ...) from the AWS SDK's default chain. The account is
the one STS GetCallerIdentity names.
`;

/** A command line that cannot be run as written; the message names the command or flag. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Command = 'plan' | 'apply';

export interface Options {
  command: Command;
  regions?: string[];
  table?: string;
  instanceIds: string[];
  json: boolean;
  yes: boolean;
  detailedExitcode: boolean;
  quiet: boolean;
  verbose: boolean;
  /** plan: where to save the plan */
  out?: string;
  /** apply: the saved plan to perform */
  planFile?: string;
  /** apply <file>: the oldest plan accepted, in ms */
  maxAgeMs: number;
  /** this run's circuit breaker limits, over MAX_RETIRE_PER_RUN / MAX_RETIRE_PERCENT */
  maxRetire?: number;
  maxRetirePercent?: number;
}

export const DEFAULT_MAX_AGE_MS = 60 * 60 * 1000;

export type CommandLine = { help: true } | { help: false; options: Options };

const COMMANDS: readonly Command[] = ['plan', 'apply'];
const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

const FLAGS = {
  regions: { type: 'string' },
  table: { type: 'string' },
  instance: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'detailed-exitcode': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  out: { type: 'string' },
  'max-age': { type: 'string' },
  'max-retire': { type: 'string' },
  'max-retire-percent': { type: 'string' },
} as const;

/** parseArgs' own messages, reworded to name the flag first and without its advice about `--`. */
function reword(e: unknown): UsageError {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown }).code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option ${flag ?? message}`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && message.includes('ambiguous')) {
    // `--regions -q`: the value looks like a flag, so the flag's value was probably forgotten.
    return new UsageError(`${flag ?? 'an option'} needs a value (the next word starts with "-", so it looks like a flag)`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const named = (/'([^']+)'/.exec(message)?.[1] ?? flag ?? '').replace(/ <value>$/, '');
    return new UsageError(
      message.includes('argument missing') ? `${named} needs a value` : `${named} does not take a value`,
    );
  }
  return new UsageError(message);
}

const list = (values: readonly string[]) =>
  values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    throw reword(e);
  }
}

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { values, positionals } = parse(argv);
  if (values.help) return { help: true };

  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError('missing command: plan or apply');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${clipText(command, 40)}": use plan or apply`);
  }
  const planFile = command === 'apply' ? extra.shift() : undefined;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${clipText(extra[0] ?? '', 40)}" after ${command}`);

  const options: Options = {
    command: command as Command,
    instanceIds: [],
    json: values.json ?? false,
    yes: values.yes ?? false,
    detailedExitcode: values['detailed-exitcode'] ?? false,
    quiet: values.quiet ?? false,
    verbose: values.verbose ?? false,
    maxAgeMs: DEFAULT_MAX_AGE_MS,
  };
  savedPlanOptions(options, values, planFile);
  limitOptions(options, values);
  if (options.yes && command !== 'apply') throw new UsageError('--yes only applies to apply');
  if (options.detailedExitcode && command !== 'plan') {
    throw new UsageError('--detailed-exitcode only applies to plan');
  }

  if (values.regions !== undefined) {
    const regions = list([values.regions]);
    if (regions.length === 0) throw new UsageError('--regions needs at least one region');
    const bad = regions.find((r) => !isRegion(r));
    if (bad !== undefined) throw new UsageError(`--regions: "${bad}" is not a region name (e.g. ap-northeast-1)`);
    options.regions = [...new Set(regions)];
  }
  if (values.table !== undefined) {
    if (values.table.trim() === '') throw new UsageError('--table needs a table name');
    options.table = values.table.trim();
  }
  if (values.instance !== undefined) {
    const ids = list(values.instance);
    if (ids.length === 0) throw new UsageError('--instance needs an instance id');
    const bad = ids.find((id) => !INSTANCE_ID.test(id));
    if (bad !== undefined) {
      throw new UsageError(`--instance: "${bad}" is not an instance id (e.g. i-0123456789abcdef0)`);
    }
    options.instanceIds = [...new Set(ids)];
  }
  return { help: false, options };
}

type Values = ReturnType<typeof parse>['values'];

/** `plan --out`, `apply <file> [--max-age]`: what goes with what. */
function savedPlanOptions(options: Options, values: Values, planFile: string | undefined): void {
  if (values.out !== undefined) {
    if (options.command !== 'plan') throw new UsageError('--out only applies to plan');
    if (values.out.trim() === '') throw new UsageError('--out needs a file name');
    options.out = values.out;
  }
  if (planFile !== undefined) {
    options.planFile = planFile;
    if (values.instance !== undefined) {
      throw new UsageError('--instance cannot be given with a plan file: the plan says which instances');
    }
  }
  if (values['max-age'] !== undefined) {
    if (planFile === undefined) throw new UsageError('--max-age only applies to apply <plan file>');
    const ms = parseDuration(values['max-age']);
    if (ms === undefined || ms <= 0) {
      throw new UsageError(`--max-age: "${clipText(values['max-age'], 40)}" is not a duration (e.g. 30m, 1h, 90s)`);
    }
    options.maxAgeMs = ms;
  }
}

/** `--max-retire`, `--max-retire-percent`: the circuit breaker's limits for this run. */
function limitOptions(options: Options, values: Values): void {
  const whole = (flag: string, text: string | undefined, max: number) => {
    if (text === undefined) return undefined;
    const n = Number(text.trim());
    if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > max) {
      throw new UsageError(`${flag}: "${clipText(text, 40)}" is not a whole number from 0 to ${max}`);
    }
    return n;
  };
  options.maxRetire = whole('--max-retire', values['max-retire'], 1_000_000);
  options.maxRetirePercent = whole('--max-retire-percent', values['max-retire-percent'], 100);
}
