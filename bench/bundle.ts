/** A benchmark child script bundled with esbuild, so plain `node` runs it with no TypeScript loader in its memory. */
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
