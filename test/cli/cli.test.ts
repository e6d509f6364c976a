/**
 * The command line as a person runs it: a child process (`node --import tsx cli/main.ts …`) against the
 * sandbox over real HTTP, with the real AWS SDK clients (STS included). Effects are read from the sandbox:
 * its call logs, its hosts, the state table.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, runCliOnTerminal, show, terminalAvailable } from '../support/cli.js';
import { createWorld, driftedFleet, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

const drift = () => driftedFleet(w);

const cli = (args: string[], input?: string) => runCli(args, { env: w.sb.env, input });

/** Every write the sandbox saw: Mackerel POST/PUT, EC2 other than DescribeInstances, PutEvents. */
function writes() {
  return {
    mackerel: w.sb.mackerel.writeCalls().map((c) => `${c.method} ${c.path}`),
    ec2: w.sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances').map((c) => c.action),
    eventBridge: w.sb.eventBridge.calls.length,
  };
}
const NO_WRITES = { mackerel: [], ec2: [], eventBridge: 0 };

/** The table row of a host: its columns, whitespace-separated. */
const rowOf = (out: string, hostId: string) =>
  out
    .split(/\r?\n/)
    .find((l) => l.split(/\s+/).includes(hostId))
    ?.trim()
    .split(/\s{2,}/);


describe('plan', () => {
  it('prints every planned action with its reason and a summary, and writes nothing anywhere', async () => {
    const { terminated, stopped } = drift();

    const r = await cli(['plan']);

    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('Plan: 2 actions (1 set-status, 1 retire)');
    expect(rowOf(r.stdout, terminated.hostId)).toEqual([
      'retire',
      terminated.hostId,
      terminated.inst.privateDnsName,
      terminated.inst.instanceId,
      'terminated',
      '→ retired',
    ]);
    expect(r.stdout).toContain(`why: instance ${terminated.inst.instanceId} is terminated`);
    expect(rowOf(r.stdout, stopped.hostId)).toEqual([
      'set-status',
      stopped.hostId,
      stopped.inst.privateDnsName,
      stopped.inst.instanceId,
      'stopped',
      'working → poweroff',
    ]);
    expect(r.stdout).toContain(`why: instance ${stopped.inst.instanceId} is stopped`);
    expect(r.stdout).toContain(
      `Read: 12 Mackerel hosts; 12 instances (ap-northeast-1: 12); 12 hosts linked to instances of account ${w.sb.accountId}`,
    );
    expect(r.stdout).toContain('Circuit breaker: ok (1 retirement of 12 owned hosts; limits 50 a run or 20%)');
    expect(r.stdout).toContain('Foreign hosts: 0');
    expect(r.stdout).toContain('Findings it would publish: Host Status Changed ×1, Host Retired ×1');
    expect(r.stdout).toContain('Dry run: nothing was written');
    // Progress on stderr, plain lines (no terminal here).
    expect(r.stderr).toContain('plan: Mackerel: 12 hosts listed\n');
    expect(r.stderr).toContain('plan: ap-northeast-1: 12 instances (1 page), done\n');
    expect(r.stderr).toContain('plan: state table: 0 instance records\n');
    expect(r.stderr).not.toContain('\r');

    expect(writes()).toEqual(NO_WRITES);
    expect(await w.tableItems()).toEqual([]);
    expect(w.sb.sts.calls.map((c) => [c.action, c.status])).toEqual([['GetCallerIdentity', 200]]);
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(false);
  });

  it('--json prints the report and nothing else on stdout', async () => {
    const { terminated, stopped } = drift();

    const r = await cli(['plan', '--json']);

    expect(r.code, show(r)).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown> & {
      actions: { kind: string; hostId: string; instanceState: string; outcome: string; reason: string }[];
    };
    expect(report).toMatchObject({
      trigger: 'cli',
      dryRun: true,
      status: 'ok',
      accountId: w.sb.accountId,
      counts: { hosts: 12, instances: 12, planned: 2, done: 0 },
      foreignHostIds: [],
    });
    expect(report.actions.map((a) => [a.kind, a.hostId, a.instanceState, a.outcome])).toEqual([
      ['set-status', stopped.hostId, 'stopped', 'planned'],
      ['retire', terminated.hostId, 'terminated', 'planned'],
    ]);
    expect(r.stderr).toContain('plan: Mackerel: 12 hosts listed');
    expect(writes()).toEqual(NO_WRITES);
  });

  it('--detailed-exitcode: 3 while changes are pending, 0 once applied; the state table is left as it was', async () => {
    const { terminated } = drift();
    expect((await cli(['plan', '--detailed-exitcode'])).code).toBe(3);
    expect((await cli(['apply', '--yes'])).code).toBe(0);
    const items = await w.tableItems();
    expect(items.length).toBeGreaterThan(0);
    const counts = writes();

    const converged = await cli(['plan', '--detailed-exitcode']);
    expect(converged.code, show(converged)).toBe(0);
    expect(converged.stdout).toContain('No changes');

    // New drift: planned, and still nothing written, DynamoDB included, with state already there.
    const next = w.instanceWithHost();
    w.sb.ec2.setState(next.inst.instanceId, 'stopped');
    const pending = await cli(['plan', '--detailed-exitcode']);
    expect(pending.code, show(pending)).toBe(3);
    expect(rowOf(pending.stdout, next.hostId)?.[0]).toBe('set-status');
    expect(rowOf(pending.stdout, terminated.hostId)).toBeUndefined();
    expect(writes()).toEqual(counts);
    expect(await w.tableItems()).toEqual(items);
  });

  it('--instance plans for the given instances only', async () => {
    const { terminated, stopped } = drift();

    const r = await cli(['plan', '--json', '--instance', terminated.inst.instanceId]);

    expect(r.code, show(r)).toBe(0);
    const report = JSON.parse(r.stdout) as { actions: { hostId: string }[]; circuitBreaker?: unknown };
    expect(report.actions.map((a) => a.hostId)).toEqual([terminated.hostId]);
    expect(report.actions.map((a) => a.hostId)).not.toContain(stopped.hostId);
    expect(report.circuitBreaker).toBeUndefined();
    expect(w.sb.ec2.calls.map((c) => c.params['InstanceId.1'])).toEqual([terminated.inst.instanceId]);
  });

  it('a region that cannot be read: said so, no retirement planned there, exit 1', async () => {
    const { stopped } = drift();
    const far = w.sb.ec2.addInstance({ region: 'us-east-1' });
    w.sb.ec2.failRegion('us-east-1', {
      status: 403,
      code: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
    });

    const r = await cli(['plan', '--regions', 'ap-northeast-1,us-east-1']);

    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain(
      'Region us-east-1 could not be read, so nothing is retired there: UnauthorizedOperation: You are not authorized',
    );
    expect(rowOf(r.stdout, stopped.hostId)?.[0]).toBe('set-status');
    expect(r.stdout).not.toContain(far.instanceId);
    expect(r.stderr).toContain('plan: us-east-1: FAILED');
  });
});

describe('apply', () => {
  it('--yes performs the plan: the terminated instance’s host is retired, the stopped one’s powered off', async () => {
    const { terminated, stopped } = drift();
    const healthyHosts = [...w.sb.mackerel.hosts.values()].filter(
      (h) => h.id !== terminated.hostId && h.id !== stopped.hostId,
    );

    const r = await cli(['apply', '--yes']);

    expect(r.code, show(r)).toBe(0);
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(stopped.hostId)?.status).toBe('poweroff');
    expect(healthyHosts.every((h) => !h.isRetired && h.status === 'working')).toBe(true);
    expect(r.stdout).toContain('Applied: 2 done');
    expect(rowOf(r.stdout, terminated.hostId)?.slice(0, 2)).toEqual(['retire', terminated.hostId]);
    expect(rowOf(r.stdout.slice(r.stdout.indexOf('Applied:')), terminated.hostId)?.slice(0, 2)).toEqual([
      'done',
      'retire',
    ]);
    expect(w.sb.eventBridge.events.map((e) => e.detailType).sort()).toEqual(['Host Retired', 'Host Status Changed']);
    expect(r.stderr).toContain('apply: Mackerel: 12 hosts listed');
  });

  it('--yes --json: the plan and the outcome as JSON on stdout, the tables on stderr', async () => {
    const { terminated } = drift();

    const r = await cli(['apply', '--yes', '--json']);

    expect(r.code, show(r)).toBe(0);
    const out = JSON.parse(r.stdout) as {
      plan: { dryRun: boolean; actions: { key: string; outcome: string }[] };
      apply: { dryRun: boolean; actions: { key: string; hostId: string; outcome: string }[] };
    };
    expect(out.plan.dryRun).toBe(true);
    expect(out.apply.dryRun).toBe(false);
    expect(out.apply.actions.map((a) => a.key)).toEqual(out.plan.actions.map((a) => a.key));
    expect(out.apply.actions.map((a) => a.outcome)).toEqual(['done', 'done']);
    expect(r.stderr).toContain('Applied: 2 done');
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(true);
  });

  it('without --yes and without a terminal it refuses before reading anything', async () => {
    drift();

    const r = await cli(['apply'], 'y\n');

    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('apply asks for confirmation, but stdin is not a terminal');
    expect(r.stderr).toContain('apply --yes');
    expect(w.sb.sts.calls).toEqual([]);
    expect(w.sb.mackerel.calls).toEqual([]);
    expect(w.sb.ec2.calls).toEqual([]);
  });

  it('on a terminal, answering "n" changes nothing', async () => {
    expect(terminalAvailable(), 'needs script(1) for a pseudo-terminal').toBe(true);
    const { terminated } = drift();

    const r = await runCliOnTerminal(['apply'], {
      env: w.sb.env,
      answer: { when: /Apply 2 actions\? \[y\/N\]/, text: 'n\n' },
    });

    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain('Apply cancelled: nothing was changed.');
    expect(writes()).toEqual(NO_WRITES);
    expect(await w.tableItems()).toEqual([]);
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(false);
  });

  it('on a terminal, answering "y" applies; the progress line is redrawn in place', async () => {
    expect(terminalAvailable(), 'needs script(1) for a pseudo-terminal').toBe(true);
    const { terminated, stopped } = drift();

    const r = await runCliOnTerminal(['apply'], {
      env: w.sb.env,
      answer: { when: /Apply 2 actions\? \[y\/N\]/, text: 'y\n' },
    });

    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied: 2 done');
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(stopped.hostId)?.status).toBe('poweroff');
    expect(r.stdout).toContain('\r\x1b[2Kplan: 12 hosts');
    expect(r.stdout).toContain('\r\x1b[2Kapply: 12 hosts');
  });

  it('performs only what was confirmed: an action planned while the question waited is reported, not done', async () => {
    expect(terminalAvailable(), 'needs script(1) for a pseudo-terminal').toBe(true);
    const { terminated } = drift();
    const late = w.instanceWithHost();

    const r = await runCliOnTerminal(['apply', '--quiet'], {
      env: w.sb.env,
      answer: {
        when: /Apply 2 actions\? \[y\/N\]/,
        text: 'y\n',
        // While the person reads the plan, another instance stops.
        before: () => w.sb.ec2.setState(late.inst.instanceId, 'stopped'),
      },
    });

    expect(r.code, show(r)).toBe(0);
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(late.hostId)?.status).toBe('working');
    expect(r.stdout).toContain('Applied: 2 done, 1 not-confirmed');
    expect(r.stdout).toContain('1 action planned only after the confirmation was not performed');
  });
});

describe('command line errors', () => {
  it.each([
    [['plan', '--frobnicate'], 'unknown option --frobnicate'],
    [['plan', '--regions', 'tokyo'], '--regions: "tokyo" is not a region name'],
    [['destroy'], 'unknown command "destroy"'],
    [['plan', '--regions', '-q'], '--regions needs a value (the next word starts with "-", so it looks like a flag)'],
  ])('%j: exit 2, one line naming it and pointing to --help, nothing is read', async (args, message) => {
    const r = await cli(args);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`mackerel-reconciler: ${message}`);
    expect(r.stderr).toContain('(see --help)');
    expect(r.stderr).not.toContain('Usage:');
    expect(r.stdout).toBe('');
    expect(w.sb.sts.calls).toEqual([]);
    expect(w.sb.mackerel.calls).toEqual([]);
  });

  it('--help prints the usage on stdout, exit 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('--detailed-exitcode');
  });

  it('STS refusing the credentials: exit 1 with the cause, nothing else read', async () => {
    w.sb.sts.fail({ status: 403, code: 'ExpiredToken', message: 'The security token included in the request is expired' });

    const r = await cli(['plan']);

    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('cannot read the AWS account id (STS GetCallerIdentity): ExpiredToken');
    expect(w.sb.mackerel.calls).toEqual([]);
  });

  it('apply with DRY_RUN=true in the environment refuses rather than contradict it', async () => {
    drift();

    const r = await runCli(['apply', '--yes'], { env: { ...w.sb.env, DRY_RUN: 'true' } });

    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('DRY_RUN=true is set: unset it to apply, or run plan.');
    expect(writes()).toEqual(NO_WRITES);
    expect(w.sb.mackerel.calls).toEqual([]);
  });

  it('flags override the environment; a configuration error names the variable', async () => {
    drift();
    const bad = await runCli(['plan'], { env: { ...w.sb.env, STATE_TABLE: '', REGIONS: 'nowhere' } });
    expect(bad.code, show(bad)).toBe(1);
    expect(bad.stderr).toMatch(/STATE_TABLE/);

    const good = await runCli(['plan', '--json', '--table', w.sb.env.STATE_TABLE as string, '--regions', 'ap-northeast-1'], {
      env: { ...w.sb.env, STATE_TABLE: 'no-such-table', REGIONS: 'eu-west-9' },
    });
    expect(good.code, show(good)).toBe(0);
    expect((JSON.parse(good.stdout) as { regions: { region: string }[] }).regions.map((r) => r.region)).toEqual([
      'ap-northeast-1',
    ]);
  });
});
