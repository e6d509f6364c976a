/** A benchmark child script bundled with esbuild, so plain `node` runs it with no TypeScript loader in its memory. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT_DIR = join(ROOT, '.esbuild', 'bench');

/** Bundles `bench/<name>.ts` into `.esbuild/bench/<name>.mjs` and answers its path. */
export async function bundleBenchScript(name: string): Promise<string> {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = join(OUT_DIR, `${name}.mjs`);
  await build({
    entryPoints: [join(ROOT, 'bench', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'error',
  });
  return outfile;
}

/**
 * Runs a bundled script in a fresh `node --expose-gc` and answers the JSON of its last stdout line; a child that
 * fails or prints no result rejects, naming `label` and what it wrote to stderr.
 */
export function runBenchScript<T>(file: string, args: readonly string[], label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${label} exited ${code}: ${err.trim().slice(0, 500)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch {
        reject(new Error(`${label} printed no result: ${out.slice(0, 200)}`));
      }
    });
  });
}
