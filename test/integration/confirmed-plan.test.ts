/**
 * What the command line needs of the engine: a runtime built from an account id, progress while observing,
 * and a real run that performs only the actions of the plan a person confirmed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import type { Progress } from '../../shared/reconcile/progress.js';
import { runInstances, runSweep } from '../../shared/reconcile/run.js';
import { buildRuntime } from '../../shared/runtime.js';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

describe('buildRuntime', () => {
  it('takes the account id it is given and a config that overrides the environment', async () => {
    const config = { ...loadConfig(), regions: ['ap-northeast-1', 'us-east-1'] };
    const rt = await buildRuntime(w.sb.accountId, { config });
    expect(rt.accountId).toBe(w.sb.accountId);
    const report = await runSweep(rt, { trigger: 'cli', dryRun: true });
    expect(report.regions.map((r) => r.region).sort()).toEqual(['ap-northeast-1', 'us-east-1']);
    expect(report.trigger).toBe('cli');
  });
});

describe('progress while observing', () => {
  it('a sweep tells what it has read: hosts, each region (page by page), the state table', async () => {
    w.healthy(3);
    w.sb.ec2.addInstance({ region: 'us-east-1' });
    const seen: Progress[] = [];
    const config = { ...loadConfig(), regions: ['ap-northeast-1', 'us-east-1'] };
    const rt = await buildRuntime(w.sb.accountId, { config, onProgress: (p) => seen.push(p) });

    await runSweep(rt, { trigger: 'cli', dryRun: true });

    expect(seen).toContainEqual({ step: 'hosts', hosts: 3 });
    expect(seen).toContainEqual({ step: 'state', records: 0 });
    expect(seen).toContainEqual({
      step: 'instances',
      region: 'ap-northeast-1',
      pages: 1,
      instances: 3,
      done: true,
    });
    expect(seen).toContainEqual({ step: 'instances', region: 'us-east-1', pages: 1, instances: 1, done: true });
  });

  it('given instances, it tells the hosts and each region asked', async () => {
    const { inst } = w.instanceWithHost();
    const seen: Progress[] = [];
    const rt = await buildRuntime(w.sb.accountId, { onProgress: (p) => seen.push(p) });

    await runInstances(rt, [inst.instanceId], { trigger: 'cli', dryRun: true });

    expect(seen).toEqual([
      { step: 'instances', region: 'ap-northeast-1', pages: 1, instances: 1, done: true },
      { step: 'hosts', hosts: 1 },
    ]);
  });
});

describe('performing only the confirmed plan', () => {
  it('actions planned after the confirmation are reported not-confirmed and not performed', async () => {
    w.healthy(9);
    const seen = w.instanceWithHost();
    const later = w.instanceWithHost();
    w.sb.ec2.setState(seen.inst.instanceId, 'terminated');
    const rt = await buildRuntime(w.sb.accountId);
    const shown = await runSweep(rt, { trigger: 'cli', dryRun: true });
    expect(shown.actions.map((a) => a.hostId)).toEqual([seen.hostId]);

    // Between the confirmation and the run, another instance stops.
    w.sb.ec2.setState(later.inst.instanceId, 'stopped');
    const report = await runSweep(rt, {
      trigger: 'cli',
      dryRun: false,
      only: new Set(shown.actions.map((a) => a.key)),
    });

    expect(report.actions.map((a) => [a.kind, a.hostId, a.outcome]).sort()).toEqual(
      [
        ['retire', seen.hostId, 'done'],
        ['set-status', later.hostId, 'not-confirmed'],
      ].sort(),
    );
    expect(w.sb.mackerel.hosts.get(seen.hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(later.hostId)?.status).toBe('working');
    expect(w.sb.mackerel.writeCalls().map((c) => c.path)).toEqual(['/api/v0/hosts/bulk-retire', '/api/v0/graph-annotations']);
    expect(w.sb.eventBridge.events.map((e) => e.detailType)).toEqual(['Host Retired']);
    // Not claimed either: the next run performs it.
    const items = await w.tableItems();
    expect(items.filter((i) => String((i.pk as { S: string }).S).startsWith('ACTION#status#'))).toEqual([]);
    const next = await runSweep(rt, { trigger: 'sweep', dryRun: false });
    expect(next.actions.map((a) => [a.kind, a.hostId, a.outcome])).toEqual([
      ['set-status', later.hostId, 'done'],
    ]);
  });

  it('a duplicate retirement whose role merge was not confirmed waits for it', async () => {
    w.healthy(9);
    const { inst, hostId } = w.instanceWithHost();
    const dup = w.agentHost(inst, { roles: { shop: ['db'] } });
    w.sb.mackerel.setLatestMetric(dup, 'loadavg5', Math.floor(Date.now() / 1000) - 3600, 0.1);
    const rt = await buildRuntime(w.sb.accountId);
    const shown = await runSweep(rt, { trigger: 'cli', dryRun: true });
    const retire = shown.actions.find((a) => a.kind === 'retire');
    expect(retire?.hostId).toBe(dup);
    expect(shown.actions.map((a) => a.kind).sort()).toEqual(['merge-roles', 'retire']);

    const report = await runSweep(rt, { trigger: 'cli', dryRun: false, only: new Set([retire?.key ?? '']) });

    expect(report.actions.map((a) => [a.kind, a.outcome]).sort()).toEqual([
      ['merge-roles', 'not-confirmed'],
      ['retire', 'deferred'],
    ]);
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.sb.mackerel.hosts.get(hostId)?.roles).toEqual({ shop: ['web'] });
  });
});
