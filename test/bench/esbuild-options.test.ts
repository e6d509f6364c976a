import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DEPLOY_OPTIONS, deployBuildOptions } from '../../bench/esbuild-options.js';

function projectWith(yml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-esbuild-'));
  writeFileSync(join(dir, 'serverless.yml'), yml);
  return dir;
}

describe('the deployment esbuild options the cold-start figures use', () => {
  it('falls back to the documented defaults while serverless.yml has no custom.esbuild', async () => {
    const dir = projectWith('service: x\nprovider:\n  environment:\n    T: !Ref Table\n');
    const got = await deployBuildOptions(dir);
    expect(got.options).toEqual(DEFAULT_DEPLOY_OPTIONS);
    expect(got.source).toMatch(/no custom.esbuild/);
  });

  it('follows custom.esbuild, with exclude as externals and outputFileExtension as outExtension', async () => {
    const dir = projectWith(
      'custom:\n  esbuild:\n    minify: false\n    target: node20\n    exclude: ["@aws-sdk/*"]\n    outputFileExtension: .mjs\n    packager: npm\n',
    );
    const got = await deployBuildOptions(dir);
    expect(got.options).toMatchObject({ minify: false, target: 'node20', external: ['@aws-sdk/*'], outExtension: { '.js': '.mjs' }, bundle: true });
    expect(got.ignored).toEqual(['packager']);
  });

  it('names the field when the config file cannot be read', async () => {
    const dir = projectWith('custom:\n  esbuild:\n    config: ./missing.cjs\n');
    await expect(deployBuildOptions(dir)).rejects.toThrow(/custom.esbuild.config: cannot read/);
  });
});
