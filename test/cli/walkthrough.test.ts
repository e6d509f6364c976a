/**
 * README's "Try it locally: three terminals", step by step as a person would: `npm run sandbox` in its own
 * process, its printed `export` lines parsed into the environment, then every `npm run` line of the other
 * terminals' blocks, in order, each in its own process. Checks what each step prints and that the fleet
 * converges.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

/** The `npm run` lines of the section's shell blocks, in order. */
function walkthrough(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Try it locally: three terminals');
  const end = readme.indexOf('\n## ', start);
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks.flatMap((b) => b.split('\n').filter((l) => l.startsWith('npm run ')));
}

/** A shell-like split: words, with '…' quoted words kept whole. */
const words = (line: string) => [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');

/** The `export NAME='value'` lines the sandbox printed. */
function exportsOf(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1] as string] = m[2] as string;
  return env;
}

function run(args: string[], env: Record<string, string>) {
  const child = spawn('npm', args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

let sandbox: ChildProcess | undefined;
afterAll(() => {
  // npm starts tsx starts node: the whole process group gets the Ctrl-C.
  if (sandbox?.pid && sandbox.exitCode === null && sandbox.signalCode === null) {
    try {
      process.kill(-sandbox.pid, 'SIGINT');
    } catch {
      // already gone
    }
  }
});

describe('README walkthrough', () => {
  it('npm run sandbox, then plan, apply --yes, plan converged, a replay and a sweep through npm run invoke', async () => {
    const steps = walkthrough();
    expect(steps[0]).toBe('npm run sandbox');
    expect(steps.length).toBeGreaterThanOrEqual(5);

    const child = spawn('npm', ['run', 'sandbox', '--', '--seed', '7'], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    sandbox = child;
    let printed = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (printed += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', () => printed.includes('Ctrl-C stops the sandbox') && resolve());
      child.on('close', (code) => reject(new Error(`sandbox exited ${code}: ${printed}`)));
    });
    const env = exportsOf(printed);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['MACKEREL_APIBASE', 'AWS_ENDPOINT_URL_EC2', 'STATE_TABLE']));
    const instanceId = /"instanceIds": \["(i-[0-9a-f]+)"\]/.exec(printed)?.[1];
    expect(instanceId).toBeDefined();

    const results: Record<string, { code: number | null; stdout: string; stderr: string }> = {};
    for (const step of steps.slice(1)) {
      const line = step.replace('<instance id from terminal 1>', instanceId as string);
      const r = await run(words(line).slice(1), env);
      results[step] = r;
      const show = `${line}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`;
      expect(r.code, show).toBe(0);
      expect(r.stderr, show).not.toMatch(/\n\s+at /); // no stack trace
    }
    // npm's own "> script" header lines come first; the report is the JSON from the first line with "{".
    const json = (text: string) => JSON.parse(/^\{[\s\S]*/m.exec(text)?.[0] ?? '') as unknown;
    const out = (prefix: string) =>
      Object.entries(results).find(([k]) => k.startsWith(prefix))?.[1].stdout ?? '';
    expect(out('npm run reconciler -- plan')).toMatch(/Plan: \d+ actions/);
    expect(out('npm run reconciler -- apply --yes')).toMatch(/Applied: \d+ done/);
    expect(out('npm run reconciler -- plan --detailed-exitcode')).toContain('No changes');
    const replay = json(out('npm run invoke -- replay')) as { trigger: string; dryRun: boolean };
    expect(replay).toMatchObject({ trigger: 'replay', dryRun: true });
    const sweep = json(out('npm run invoke -- sweep')) as { trigger: string; status: string };
    expect(sweep).toMatchObject({ trigger: 'sweep', status: 'ok' });

    // Ctrl-C: the sandbox says so and stops (npm itself ends by the signal it was sent too).
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    process.kill(-(child.pid as number), 'SIGINT');
    await exited;
    expect(printed).toContain('Sandbox stopped.');
  });
});
