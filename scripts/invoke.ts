/**
 * `npm run invoke -- replay '<payload>' | sweep | instance-state-change '<event>'`: runs the real handler in
 * this process with a Lambda-like context (sandbox/lambda-context.ts), against whatever the environment points
 * at (the sandbox's exports, or real AWS), and prints the handler's report as JSON on stdout. Exit 1 when the
 * handler throws (its error on stderr, one line), 2 for a bad command line.
 *
 * It replaces `serverless invoke local`, which resolves STATE_TABLE (`!Ref StateTable`) and the other stack
 * references through CloudFormation and so cannot run without a deployed stack and AWS credentials.
 */
import { callerAccountId } from '../cli/account.js';
import { suppressSdkNodeNotice } from '../cli/notice.js';
import { clipText } from '../shared/errors.js';
import { lambdaContext } from '../sandbox/lambda-context.js';

const FUNCTIONS = {
  replay: { path: '../functions/replay/handler.js', timeoutMs: 900_000, needsEvent: true },
  sweep: { path: '../functions/sweep/handler.js', timeoutMs: 900_000, needsEvent: false },
  'instance-state-change': {
    path: '../functions/instance-state-change/handler.js',
    timeoutMs: 60_000,
    needsEvent: true,
  },
} as const;
type Name = keyof typeof FUNCTIONS;

const USAGE = `Usage: npm run invoke -- replay '<payload>'
       npm run invoke -- sweep
       npm run invoke -- instance-state-change '<event>'
The payload or event is JSON (or @file.json). Prints the handler's report as JSON.`;

class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

async function eventOf(name: Name, arg: string | undefined, accountId: string): Promise<unknown> {
  if (!FUNCTIONS[name].needsEvent) {
    if (arg !== undefined) usage(`${name} takes no event`);
    return { 'detail-type': 'Scheduled Event', source: 'aws.events', account: accountId };
  }
  if (arg === undefined) usage(`${name} needs a JSON ${name === 'replay' ? 'payload' : 'event'}`);
  const text = arg.startsWith('@') ? await import('node:fs/promises').then((fs) => fs.readFile(arg.slice(1), 'utf8')) : arg;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return usage(`the ${name} argument is not JSON (${(e as Error).message}): ${clipText(text, 80)}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [name, arg, ...extra] = argv;
  try {
    if (name === undefined) usage('missing function: replay, sweep or instance-state-change');
    if (!(name in FUNCTIONS)) usage(`unknown function "${clipText(name, 40)}": use replay, sweep or instance-state-change`);
    if (extra.length > 0) usage(`unexpected argument "${clipText(extra[0] ?? '', 40)}"`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`invoke: ${e.message} (see --help)\n`);
    return 2;
  }
  const fn = FUNCTIONS[name as Name];
  // The handler's JSON logs and metrics would mix with the report on stdout: warnings and errors only.
  process.env.LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_LOG_LEVEL ??= process.env.LOG_LEVEL;
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  try {
    const accountId = process.env.ACCOUNT_ID ?? (await callerAccountId(region));
    const event = await eventOf(name as Name, arg, accountId);
    const { handler } = (await import(fn.path)) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
    const arn = `arn:aws:lambda:${region}:${accountId}:function:mackerel-reconciler-${name}`;
    const report = await handler(event, lambdaContext(arn, { timeoutMs: fn.timeoutMs }));
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`invoke: ${e.message} (see --help)\n`);
      return 2;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`invoke: ${name} failed: ${err.name}: ${clipText(err.message, 2000)}\n`);
    return 1;
  }
}

suppressSdkNodeNotice();
process.exitCode = await main(process.argv.slice(2));
