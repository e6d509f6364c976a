/**
 * `npm run chaos`: the reliability suite at full size against the local sandbox (issue #5).
 *
 *   npm run chaos                               1,000 instances, a random seed (printed first)
 *   npm run chaos -- --seed 42                  the same scenario again
 *   npm run chaos -- --instances 200 --verbose  smaller, with progress lines
 *
 * CHAOS_SEED works like --seed. Exits 1 when any check fails, after listing what failed.
 */
import { parseArgs } from 'node:util';

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}

function intFlag(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      seed: { type: 'string' },
      instances: { type: 'string' },
      ticks: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}

const seed = intFlag(
  values.seed === undefined && process.env.CHAOS_SEED !== undefined ? 'seed (CHAOS_SEED)' : 'seed',
  (values.seed as string | undefined) ?? process.env.CHAOS_SEED,
  Math.floor(Math.random() * 2 ** 31),
  0,
);
const instances = intFlag('instances', values.instances as string | undefined, 1000, 1);
const ticks = intFlag('ticks', values.ticks as string | undefined, 48, 1);
console.log(`chaos: seed ${seed} (replay with --seed ${seed}), ${instances} instances, ${ticks} ticks`);

// The handlers log JSON per invocation; thousands of them would bury the summary. Set before they load.
process.env.LOG_LEVEL ??= values.verbose ? 'ERROR' : 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL ??= process.env.LOG_LEVEL;

const { runChaos } = await import('./engine.js');
const { judge, passed, summaryLine } = await import('./checks.js');

const run = await runChaos({
  seed,
  instances,
  ticks,
  onProgress: values.verbose ? (line) => console.log(`  ${line}`) : undefined,
});
const verdict = judge(run);
for (const line of verdict.violations.slice(0, 40)) console.log(`  ✗ ${line}`);
if (verdict.violations.length > 40) console.log(`  … and ${verdict.violations.length - 40} more`);
for (const e of run.tally.errorSamples) console.log(`  (handler error, retried: ${e})`);
console.log(summaryLine(run, verdict));
process.exit(passed(verdict) ? 0 : 1);
