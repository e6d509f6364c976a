/**
 * Saved plans, as Terraform's: `plan --out` writes the plan, `apply <file>` performs exactly its actions and
 * refuses a plan for another account or region set, an old one, or a malformed file (naming the field).
 * The command line runs as a child process against the sandbox; effects are read from the sandbox.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLAN_FORMAT, PLAN_FORMAT_VERSION, type SavedPlan } from '../../cli/saved-plan.js';
import { runCli, show } from '../support/cli.js';
import { createWorld, driftedFleet, type World } from '../support/world.js';

let w: World;
let dir: string;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
  dir = mkdtempSync(join(tmpdir(), 'saved-plan-'));
});
afterEach(async () => {
  rmSync(dir, { recursive: true, force: true });
  await w.stop();
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...w.sb.env, ...env } });
const mackerelWrites = () => w.sb.mackerel.writeCalls().map((c) => `${c.method} ${c.path}`);

const drift = () => driftedFleet(w);

const readSaved = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as SavedPlan;

describe('plan --out, apply <file>', () => {
  it('writes the plan, then performs exactly it: an action planned later is not performed', async () => {
    const { terminated, stopped } = drift();
    const path = join(dir, 'plan.json');

    const planned = await cli(['plan', '--out', path]);

    expect(planned.code, show(planned)).toBe(0);
    expect(planned.stdout).toContain(`Saved the plan (2 actions) to ${path}`);
    const saved = readSaved(path);
    expect(saved).toMatchObject({
      format: PLAN_FORMAT,
      formatVersion: PLAN_FORMAT_VERSION,
      accountId: w.sb.accountId,
      regions: ['ap-northeast-1'],
    });
    expect(Date.now() - Date.parse(saved.createdAt)).toBeLessThan(60_000);
    expect(saved.actions.map((a) => [a.kind, a.hostId])).toEqual([
      ['set-status', stopped.hostId],
      ['retire', terminated.hostId],
    ]);
    expect(saved.actionKeys).toEqual(saved.actions.map((a) => a.key));
    expect(mackerelWrites()).toEqual([]);

    // The fleet moves on after the plan was saved: the new retirement is not part of it.
    const late = w.instanceWithHost();
    w.sb.ec2.setState(late.inst.instanceId, 'terminated');

    const applied = await cli(['apply', path]);

    expect(applied.code, show(applied)).toBe(0);
    expect(applied.stdout).toContain(`Applying the plan saved in ${path}`);
    expect(applied.stdout).toContain('Applied: 2 done, 1 not-confirmed');
    expect(w.sb.mackerel.hosts.get(terminated.hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(stopped.hostId)?.status).toBe('poweroff');
    expect(w.sb.mackerel.hosts.get(late.hostId)?.isRetired).toBe(false);
  });

  it('a plan with no actions applies nothing, exit 0', async () => {
    w.healthy(3);
    const path = join(dir, 'plan.json');
    expect((await cli(['plan', '--out', path])).code).toBe(0);
    const r = await cli(['apply', path]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('has no actions: nothing to apply');
    expect(mackerelWrites()).toEqual([]);
  });

  describe('refusals: exit 1, the reason named, nothing changed', () => {
    async function savedPlan(): Promise<{ path: string; plan: SavedPlan }> {
      drift();
      const path = join(dir, 'plan.json');
      const r = await cli(['plan', '--out', path]);
      expect(r.code, show(r)).toBe(0);
      return { path, plan: readSaved(path) };
    }

    async function refused(args: string[], message: string | RegExp, env: Record<string, string> = {}) {
      const r = await cli(args, env);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(mackerelWrites()).toEqual([]);
    }

    it('another account', async () => {
      const { path, plan } = await savedPlan();
      writeFileSync(path, JSON.stringify({ ...plan, accountId: '999999999999' }));
      await refused(['apply', path], `plan file ${path} was made for account 999999999999, these credentials are for ${w.sb.accountId}`);
    });

    it('another region set', async () => {
      const { path } = await savedPlan();
      await refused(
        ['apply', path, '--regions', 'ap-northeast-1,us-east-1'],
        `plan file ${path} covers regions ap-northeast-1, this run ap-northeast-1,us-east-1`,
      );
    });

    it('older than --max-age (default 1h)', async () => {
      const { path, plan } = await savedPlan();
      writeFileSync(path, JSON.stringify({ ...plan, createdAt: new Date(Date.now() - 2 * 3_600_000).toISOString() }));
      await refused(['apply', path], `plan file ${path} is 2h old, older than --max-age 60m`);
      const r = await cli(['apply', path, '--max-age', '3h']);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain('Applied: 2 done');
    });

    it('a malformed file names the field; a file that is not JSON says so', async () => {
      const { path, plan } = await savedPlan();
      const { actionKeys: _, ...withoutKeys } = plan;
      writeFileSync(path, JSON.stringify(withoutKeys));
      await refused(['apply', path], `plan file ${path} is malformed: actionKeys:`);
      writeFileSync(path, JSON.stringify({ ...plan, formatVersion: 99 }));
      await refused(['apply', path], `plan file ${path} is malformed: formatVersion:`);
      writeFileSync(path, 'not json');
      await refused(['apply', path], `plan file ${path} is not JSON`);
      await refused(['apply', join(dir, 'missing.json')], /cannot read plan file .*missing\.json/);
    });
  });
});
