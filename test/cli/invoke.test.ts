/**
 * `npm run invoke`: the real handlers in a local process with a Lambda-like context, against the sandbox.
 * The report is JSON on stdout; a handler error is one line on stderr and exit 1; a bad command line exit 2.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliResult, ROOT, show } from '../support/cli.js';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

function invoke(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/invoke.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...w.sb.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run invoke', () => {
  it('replay: runs the handler for real and prints its report; the host is retired', async () => {
    const gone = w.instanceWithHost();
    w.sb.ec2.setState(gone.inst.instanceId, 'terminated');

    const r = await invoke(['replay', JSON.stringify({ instanceIds: [gone.inst.instanceId] })]);

    expect(r.code, show(r)).toBe(0);
    const report = JSON.parse(r.stdout) as { trigger: string; accountId: string; counts: { done: number } };
    expect(report).toMatchObject({ trigger: 'replay', accountId: w.sb.accountId, counts: { done: 1 } });
    expect(w.sb.mackerel.hosts.get(gone.hostId)?.isRetired).toBe(true);
  });

  it('instance-state-change: the event handler, with the event given', async () => {
    const gone = w.instanceWithHost();
    w.sb.ec2.setState(gone.inst.instanceId, 'terminated');
    const event = w.stateChangeEvent(gone.inst.instanceId, 'terminated');

    const r = await invoke(['instance-state-change', JSON.stringify(event)]);

    expect(r.code, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ trigger: 'instance-state-change' });
    expect(w.sb.mackerel.hosts.get(gone.hostId)?.isRetired).toBe(true);
  });

  it('a handler that throws: one line on stderr naming it, exit 1, nothing on stdout', async () => {
    const r = await invoke(['replay', '{"bogus": 1}']);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invoke: replay failed: InputError: invalid replay payload: unknown field(s) "bogus"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['destroy'], 'invoke: unknown function "destroy": use replay, sweep or instance-state-change (see --help)'],
    [['replay'], 'invoke: replay needs a JSON payload (see --help)'],
    [['replay', '{not json'], 'invoke: the replay argument is not JSON'],
  ])('%j: exit 2, one line', async (args, message) => {
    const r = await invoke(args);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
