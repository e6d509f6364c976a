/**
 * Cold start: each `functions/<name>/handler.ts` bundled with the deployment's esbuild options, its size raw
 * and gzipped, the time a fresh `node` process takes to import it (median of N processes), and one
 * invocation of the bundle against the sandbox, which proves that the bundle runs and not only loads.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ec2StateChangeEvent, ecsTaskStateChangeEvent, SANDBOX_REGION, scheduledEvent, startSandbox } from '../../sandbox/index.js';
import { deployBuildOptions } from '../esbuild-options.js';
import type { ColdResult } from '../results.js';
import { median } from '../stats.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OUT_DIR = join(ROOT, '.esbuild', 'bench', 'cold');

type Data = Omit<ColdResult, 'ranAt' | 'command' | 'quick' | 'seed' | 'machine'>;

/** `node_modules/@aws-sdk/client-ec2/dist-es/…` → `@aws-sdk/client-ec2`; our own code → `(this project)`. */
export function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return '(this project)';
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? input);
}

/** The packages that weigh most in a bundle (bytes they contribute to the output, before gzip). */
function heaviest(inputs: Record<string, { bytesInOutput: number }>, n: number): { name: string; bytes: number }[] {
  const by = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const name = packageOf(path);
    by.set(name, (by.get(name) ?? 0) + bytesInOutput);
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, bytes]) => ({ name, bytes }));
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A bare environment, as a fresh Lambda sandbox has before the handler module loads. */
const bareEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

const IMPORT_PROBE = `
const t0 = performance.now();
await import(process.argv[1]);
const t1 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, readyMs: t1 }));`;

const INVOKE_PROBE = `
const [file, eventJson, arn] = process.argv.slice(1);
const t0 = performance.now();
const { handler } = await import(file);
const context = { invokedFunctionArn: arn, functionName: 'bench', functionVersion: '$LATEST', awsRequestId: 'bench-1',
  memoryLimitInMB: '512', logGroupName: 'bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 60000 };
const report = await handler(JSON.parse(eventJson), context);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0, status: report.status, planned: report.counts.planned }));`;

export async function coldBench(opts: { runs: number; seed: number }): Promise<Data> {
  const { options, source, ignored } = await deployBuildOptions(ROOT);
  const names = readdirSync(join(ROOT, 'functions')).filter((n) => existsSync(join(ROOT, 'functions', n, 'handler.ts')));
  rmSync(OUT_DIR, { recursive: true, force: true });
  const problems: string[] = ignored.length > 0 ? [`serverless-esbuild keys not applied: ${ignored.join(', ')}`] : [];

  const sb = await startSandbox({ seed: opts.seed, realisticMeta: true });
  try {
    const inst = sb.ec2.addInstance({});
    sb.mackerel.addHost({ name: inst.privateDnsName, customIdentifier: `${inst.instanceId}.ec2.amazonaws.com` });
    const sampleEvents: Record<string, unknown> = {
      sweep: scheduledEvent({ accountId: sb.accountId, id: 'bench' }),
      'instance-state-change': ec2StateChangeEvent({
        accountId: sb.accountId,
        instanceId: inst.instanceId,
        state: 'running',
        id: 'bench-event',
      }),
      replay: { instanceIds: [inst.instanceId], dryRun: true },
      // a stopped task ECS no longer knows (MISSING): a whole invocation, DescribeTasks included
      'task-state-change': ecsTaskStateChangeEvent({
        accountId: sb.accountId,
        taskArn: `arn:aws:ecs:${SANDBOX_REGION}:${sb.accountId}:task/web/${'0'.repeat(31)}1`,
        clusterArn: `arn:aws:ecs:${SANDBOX_REGION}:${sb.accountId}:cluster/web`,
        id: 'bench-task-event',
      }),
    };

    const functions: Data['functions'] = [];
    for (const name of names) {
      const outdir = join(OUT_DIR, name);
      mkdirSync(outdir, { recursive: true });
      const result = await build({
        // the extension tells a bare `node` the module format, wherever the bundle lands
        outExtension: { '.js': options.format === 'cjs' ? '.cjs' : '.mjs' },
        ...options,
        entryPoints: [join(ROOT, 'functions', name, 'handler.ts')],
        outdir,
        metafile: true,
        logLevel: 'error',
      });
      const bundle = Object.keys(result.metafile.outputs).find((o) => /\.[mc]?js$/.test(o));
      if (!bundle) throw new Error(`esbuild wrote no JavaScript for ${name}`);
      const file = resolve(process.cwd(), bundle);
      const largest = heaviest(result.metafile.outputs[bundle]?.inputs ?? {}, 6);
      const bytes = readFileSync(file);

      const importMs: number[] = [];
      const readyMs: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        const out = await run(['--input-type=module', '-e', IMPORT_PROBE, pathToFileURL(file).href], bareEnv());
        if (out.code !== 0) throw new Error(`importing the ${name} bundle failed: ${out.stderr.trim().split('\n')[0]}`);
        const m = JSON.parse(out.stdout) as { importMs: number; readyMs: number };
        importMs.push(m.importMs);
        readyMs.push(m.readyMs);
      }

      const event = sampleEvents[name];
      let firstInvoke: Data['functions'][number]['firstInvoke'] = { ok: false, ms: Number.NaN, detail: 'no sample event for this function' };
      if (event !== undefined) {
        const env = { ...bareEnv(), ...sb.env, LOG_LEVEL: 'ERROR', POWERTOOLS_LOG_LEVEL: 'ERROR' };
        const out = await run(
          ['--input-type=module', '-e', INVOKE_PROBE, pathToFileURL(file).href, JSON.stringify(event), sb.functionArn(name)],
          env,
        );
        if (out.code === 0) {
          // The bundle's embedded metrics share stdout with the probe; the probe's answer is the last line.
          const m = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as { ms: number; status: string; planned: number };
          firstInvoke = { ok: true, ms: m.ms, detail: `report status ${m.status}, ${m.planned} actions planned` };
        } else {
          const line = out.stderr.trim().split('\n').find((l) => /Error|error/.test(l)) ?? out.stderr.trim().split('\n')[0] ?? '';
          firstInvoke = { ok: false, ms: Number.NaN, detail: line.slice(0, 300) };
          problems.push(`the ${name} bundle failed its first invocation: ${line.slice(0, 200)}`);
        }
      }
      functions.push({
        name,
        bytes: bytes.length,
        gzipBytes: gzipSync(bytes).length,
        largest,
        runs: opts.runs,
        importMs: { median: median(importMs), min: Math.min(...importMs), max: Math.max(...importMs) },
        readyMs: { median: median(readyMs) },
        firstInvoke,
      });
    }
    return { problems, optionsSource: source, options: options as Record<string, unknown>, functions };
  } finally {
    await sb.stop();
  }
}
