/**
 * Failures name the culprit and the fix, in one line, without a stack trace: a missing table, DynamoDB, Mackerel
 * or EC2 out of reach, a reader that goes away (`apply --yes | head`), the SDK's Node notice (one line at
 * most). The command line runs as a child process against the sandbox.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliResult, ROOT, runCli, show } from '../support/cli.js';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...w.sb.env, ...env } });
const STACK = /\n\s+at /;

/** The last line of stderr (progress and retry warnings come before it). */
const lastLine = (r: CliResult) => r.stderr.trimEnd().split('\n').pop() ?? '';

function sh(command: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn('sh', ['-c', command], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('a failure names the culprit and the fix', () => {
  it('--table no-such-table: the table, the region, the endpoint and what to check', async () => {
    w.healthy(1);
    const r = await cli(['plan', '-q', '--table', 'no-such-table']);
    expect(r.code, show(r)).toBe(1);
    expect(lastLine(r)).toBe(
      `mackerel-reconciler: DynamoDB table "no-such-table" not found in region ap-northeast-1 (${w.sb.env.AWS_ENDPOINT_URL_DYNAMODB}): ` +
        'check --table / STATE_TABLE, and that AWS_REGION is the region the stack was deployed to',
    );
    expect(r.stderr).not.toMatch(STACK);
  });

  it('DynamoDB out of reach: which endpoint', async () => {
    const r = await cli(['plan', '-q'], { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:1' });
    expect(r.code, show(r)).toBe(1);
    expect(lastLine(r)).toMatch(
      /^mackerel-reconciler: cannot reach DynamoDB at http:\/\/127\.0\.0\.1:1 \(table "mackerel-reconciler-state", region ap-northeast-1\): .*ECONNREFUSED.*: check AWS_ENDPOINT_URL_DYNAMODB/,
    );
    expect(r.stderr).not.toMatch(STACK);
  });

  it('Mackerel out of reach: which base URL', async () => {
    const r = await cli(['plan', '-q'], { MACKEREL_APIBASE: 'http://127.0.0.1:1' });
    expect(r.code, show(r)).toBe(1);
    expect(lastLine(r)).toMatch(
      /^mackerel-reconciler: cannot reach Mackerel at http:\/\/127\.0\.0\.1:1: .*: check MACKEREL_APIBASE and the network/,
    );
    expect(r.stderr).not.toMatch(STACK);
  });

  it('EC2 out of reach: the run is incomplete, never "No changes"', async () => {
    w.healthy(1);
    const r = await cli(['plan', '-q'], { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1' });
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain('Incomplete: EC2 could not be read in ap-northeast-1');
    expect(r.stdout).toMatch(/Region ap-northeast-1 could not be read, so nothing is retired there: .*ECONNREFUSED/);
    expect(r.stdout).not.toContain('No changes');
  });

  it('apply --yes | head: no EPIPE stack trace, and the apply still finishes', async () => {
    w.healthy(20); // 3 retirements of 23 hosts: under the circuit breaker's 20%
    const gone = Array.from({ length: 3 }, () => {
      const t = w.instanceWithHost();
      w.sb.ec2.setState(t.inst.instanceId, 'terminated');
      return t;
    });
    const r = await sh(`"${process.execPath}" --import tsx cli/main.ts apply --yes -q | head -1`, {
      ...w.sb.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr, show(r)).not.toMatch(/EPIPE|Unhandled 'error' event/);
    expect(r.stderr).not.toMatch(STACK);
    expect(gone.every((g) => w.sb.mackerel.hosts.get(g.hostId)?.isRetired === true)).toBe(true);
  });

  it("the AWS SDK's Node-version notice: at most one line", async () => {
    w.healthy(1);
    const env = { ...w.sb.env };
    const r = await sh(`env -u AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED -u NODE_NO_WARNINGS "${process.execPath}" --import tsx cli/main.ts plan -q`, env);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).not.toContain('To continue receiving updates');
    expect(r.stderr.split('\n').filter((l) => /node\s*>=|Node >=/i.test(l)).length).toBeLessThanOrEqual(1);
  });
});
