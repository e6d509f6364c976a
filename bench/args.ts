/** `npm run bench -- [--only sweep,naive,planner,event,sweep-scale,cold] [--quick] [--write] [--seed N] [--latency MS]` */

export const SECTIONS = ['sweep', 'naive', 'planner', 'event', 'sweep-scale', 'cold'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchArgs {
  sections: Section[];
  quick: boolean;
  /** record the figures in the tracked bench/results.json and regenerate BENCHMARKS.md from it */
  write: boolean;
  seed: number;
  /** injected into every fake API call (Mackerel, EC2, EventBridge) */
  latencyMs: number;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: npm run bench -- [options]
  --only LIST     sections to run, comma separated: ${SECTIONS.join(',')} (default: all)
  --quick         smaller fleets and fewer repetitions (a smoke run, not figures to publish)
  --write         record the figures in bench/results.json (tracked) and regenerate BENCHMARKS.md from it;
                  without it they go to bench/.last-results.json (ignored by git) and nothing tracked changes
  --seed N        fleet seed (default 20251121; printed either way)
  --latency MS    latency injected into every fake API call (default 20)`;

const DEFAULT_SEED = 20251121;

function integer(flag: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || raw.startsWith('--')) throw new UsageError(`${flag} needs a value`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = {
    sections: [...SECTIONS],
    quick: false,
    write: false,
    seed: DEFAULT_SEED,
    latencyMs: 20,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] as string).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--only': {
        const raw = value();
        if (raw === undefined || raw.startsWith('--') || raw.trim() === '') throw new UsageError('--only needs a value');
        const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
        if (unknown.length > 0) {
          throw new UsageError(`--only: unknown section ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
        }
        // keep the canonical order: naive compares itself with the sweep run just before it
        out.sections = SECTIONS.filter((s) => names.includes(s));
        break;
      }
      case '--quick':
        out.quick = true;
        break;
      case '--write':
        out.write = true;
        break;
      case '--seed':
        out.seed = integer('--seed', value(), 0, 2 ** 31 - 1);
        break;
      case '--latency':
        out.latencyMs = integer('--latency', value(), 0, 10_000);
        break;
      case '--help':
      case '-h':
        out.help = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return out;
}
