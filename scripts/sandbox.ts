/**
 * `npm run sandbox [-- --seed N]`: the local world in one command. Starts the fake Mackerel, EC2, STS,
 * EventBridge and dynalite (sandbox/index.ts), seeds the demo's fleet (scripts/fleet.ts), runs a first sweep
 * so the state table knows which instances are this account's, lets the fleet drift, then prints the
 * environment to paste into another shell and stays up until Ctrl-C.
 */
import { buildRuntime } from '../shared/runtime.js';
import { runSweep } from '../shared/reconcile/run.js';
import { startSandbox } from '../sandbox/index.js';
import { seedFleet } from './fleet.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function parseSeed(argv: readonly string[]): number | undefined {
  const i = argv.indexOf('--seed');
  if (i < 0) return undefined;
  const seed = Number(argv[i + 1]);
  if (!Number.isInteger(seed) || seed < 0) {
    process.stderr.write(`sandbox: --seed needs a whole number, got "${String(argv[i + 1]).slice(0, 40)}"\n`);
    process.exit(2);
  }
  return seed;
}

/** `export NAME='value'` lines a POSIX shell reads back as they are. */
export const exportLines = (env: Record<string, string>): string[] =>
  Object.entries(env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`);

async function main(): Promise<void> {
  // The sandbox's own SDK clients (dynalite's table, the first sweep) need no Node-version notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const sb = await startSandbox({ seed: parseSeed(process.argv.slice(2)) });
  const env = sb.env;
  sb.applyEnv();
  const fleet = seedFleet(sb, { seed: sb.seed });
  // Day 0: the store learns which instances are this account's while they run (ownership needs history).
  const rt = await buildRuntime(sb.accountId, { logger: silent });
  await runSweep(rt, { trigger: 'cli', dryRun: false });
  fleet.drift();

  const [terminated] = fleet.cast.terminated;
  const out = [
    `Sandbox up (seed ${sb.seed}, account ${sb.accountId}): ${sb.ec2.instances.size} instances, ` +
      `${sb.mackerel.hosts.size} Mackerel hosts, drifted since a first sweep.`,
    'Paste these lines into another shell:',
    '',
    ...exportLines(env),
    '',
    'Then, for example:',
    '  npm run reconciler -- plan',
    '  npm run reconciler -- apply',
    `  npm run invoke -- replay '{"instanceIds": ["${terminated.instanceId}"], "dryRun": true}'`,
    '',
    'Ctrl-C stops the sandbox (everything is in memory and is gone then).',
    '',
  ];
  process.stdout.write(out.join('\n'));

  const stop = () => {
    process.stdout.write('\nSandbox stopped.\n');
    void sb.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
