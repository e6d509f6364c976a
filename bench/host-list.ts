/**
 * `npm run bench:hostlist -- [--hosts 50000[,10000…]] [--seed N] [--runs 1]`: wall time and peak RSS of
 * reading a host list of real-sized hosts (~5.6 KB of agent meta each), the old way (whole text, JSON.parse,
 * validate) against the stream (`listHosts`), issue #16. The server and every reader run in processes of their
 * own (bundled with esbuild, plain `node`), so a reader's peak is its own. Figures, not tests: nothing asserts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { MeasureOutput } from './host-list-child.js';
import { bundleBenchScript, runBenchScript } from './bundle.js';


/** Starts the server process; resolves with its URL and key once it listens. */
function startServer(file: string, hosts: number, seed: number) {
  const child = spawn(process.execPath, [file, 'serve', String(hosts), String(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string) as { url: string; apiKey: string });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited ${code} before listening`)));
  });
  return { child, ready };
}

function measure(file: string, mode: 'old' | 'new', url: string, apiKey: string): Promise<MeasureOutput> {
  return runBenchScript<MeasureOutput>(file, ['measure', mode, url, apiKey], `${mode} reader`);
}

/** Both readers over one server of `hosts` hosts, `runs` times each, alternating. */
export async function hostListBench(opts: { hosts: number; seed: number; runs: number }): Promise<MeasureOutput[]> {
  const file = await bundleBenchScript('host-list-child');
  const server = startServer(file, opts.hosts, opts.seed);
  const stop = (child: ChildProcess) => child.kill('SIGTERM');
  try {
    const { url, apiKey } = await server.ready;
    const out: MeasureOutput[] = [];
    for (let r = 0; r < opts.runs; r++) {
      for (const mode of r % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
        out.push(await measure(file, mode, url, apiKey));
      }
    }
    return out;
  } finally {
    stop(server.child);
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const sizes = arg('hosts', '50000').split(',').map(Number);
  const seed = Number(arg('seed', '20250316'));
  const runs = Number(arg('runs', '1'));
  console.log(`host list bench: seed ${seed}, node ${process.version}`);
  console.log('hosts   mode  body MB  wall ms  (text ms)  RSS before MB  peak RSS MB  retained heap MB');
  for (const hosts of sizes) {
    for (const m of await hostListBench({ hosts, seed, runs })) {
      const cells = [
        String(m.hosts).padStart(6),
        m.mode.padEnd(4),
        (m.bytes / 1e6).toFixed(1).padStart(7),
        String(m.wallMs).padStart(8),
        (m.textMs === undefined ? '' : `(${m.textMs})`).padStart(10),
        String(m.rssBeforeMB).padStart(14),
        String(m.peakRssMB).padStart(12),
        String(m.retainedHeapMB).padStart(17),
      ];
      console.log(cells.join('  '));
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
