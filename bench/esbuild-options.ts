/**
 * The esbuild options a deployment bundles the handlers with, in one place. serverless-esbuild reads them from
 * `custom.esbuild` in serverless.yml; when that block exists its esbuild options are used here, so that the
 * cold-start figures follow the deployment. Until it exists (packaging is issue #4), these defaults stand in:
 * bundle, minify, platform node, ESM, target node22 (the nodejs22.x runtime), external source map.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { parseDocument } from 'yaml';

export const DEFAULT_DEPLOY_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: 'external',
  // ESM-first packages (Powertools, middy) ship a `module` entry; fall back to `main`.
  mainFields: ['module', 'main'],
};

/** serverless-esbuild keys that are esbuild options under the same name. */
const PASSTHROUGH = [
  'bundle',
  'minify',
  'sourcemap',
  'sourcesContent',
  'keepNames',
  'target',
  'platform',
  'format',
  'external',
  'banner',
  'footer',
  'mainFields',
  'define',
  'loader',
  'inject',
  'treeShaking',
  'legalComments',
  'conditions',
] as const;

export class DeployOptionsError extends Error {
  override name = 'DeployOptionsError';
}

export interface DeployOptions {
  options: BuildOptions;
  /** where they came from, for the report */
  source: string;
  /** serverless-esbuild keys that have no esbuild meaning here (packager, concurrency, …) */
  ignored: string[];
}

/** serverless-esbuild's `config`: a JS file exporting the options, or a function returning them. */
async function configFileOptions(root: string, file: string): Promise<Record<string, unknown>> {
  const path = resolve(root, file);
  try {
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    const exported = mod.default ?? mod;
    const value: unknown = typeof exported === 'function' ? await (exported as (sls: unknown) => unknown)({}) : exported;
    if (typeof value !== 'object' || value === null) throw new Error('it exports no options object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new DeployOptionsError(`serverless.yml custom.esbuild.config: cannot read ${path}: ${(e as Error).message}`);
  }
}

export async function deployBuildOptions(root: string): Promise<DeployOptions> {
  const file = join(root, 'serverless.yml');
  // CloudFormation tags (!Ref, !GetAtt) are unknown to a plain YAML parser: warnings, not errors.
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new DeployOptionsError(`${file}: ${doc.errors[0]?.message}`);
  const yml = doc.toJS() as { custom?: { esbuild?: Record<string, unknown> } } | null;
  const custom = yml?.custom?.esbuild;
  if (custom === undefined) {
    return { options: { ...DEFAULT_DEPLOY_OPTIONS }, source: 'bench defaults (serverless.yml has no custom.esbuild)', ignored: [] };
  }
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) {
    throw new DeployOptionsError(`${file}: custom.esbuild must be a mapping`);
  }
  if (typeof custom.config === 'string') {
    return {
      options: { ...DEFAULT_DEPLOY_OPTIONS, ...pick(await configFileOptions(root, custom.config)) },
      source: `serverless.yml custom.esbuild.config (${custom.config})`,
      ignored: [],
    };
  }
  const set: Record<string, unknown> = { ...DEFAULT_DEPLOY_OPTIONS, ...pick(custom) };
  // serverless-esbuild's `exclude` leaves packages out of the bundle (installed beside it instead).
  const exclude = custom.exclude;
  if (Array.isArray(exclude)) set.external = [...((set.external as string[] | undefined) ?? []), ...exclude.map(String)];
  if (custom.outputFileExtension !== undefined) set.outExtension = { '.js': String(custom.outputFileExtension) };
  const ignored = Object.keys(custom).filter(
    (k) => !(PASSTHROUGH as readonly string[]).includes(k) && k !== 'exclude' && k !== 'outputFileExtension',
  );
  return { options: set as BuildOptions, source: 'serverless.yml custom.esbuild', ignored };
}

function pick(from: Record<string, unknown>): BuildOptions {
  const out: Record<string, unknown> = {};
  for (const key of PASSTHROUGH) if (key in from) out[key] = from[key];
  return out as BuildOptions;
}
