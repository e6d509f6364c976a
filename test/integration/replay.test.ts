/** Replay payloads, dry runs, and bad input: rejected with the field named, nothing half-done. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

describe('replay payloads', () => {
  it('{"instanceIds"}: reconciles exactly those instances', async () => {
    const a = w.instanceWithHost();
    const b = w.instanceWithHost();
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    w.sb.ec2.setState(b.inst.instanceId, 'terminated');

    const report = await w.onReplay({ instanceIds: [a.inst.instanceId] });

    expect(report.trigger).toBe('replay');
    expect(w.retiredIds()).toEqual([a.hostId]);
  });

  it('{"instanceIds"}: an unknown id does not hide the others', async () => {
    const a = w.instanceWithHost();
    w.sb.ec2.setState(a.inst.instanceId, 'stopped');
    const report = await w.onReplay({ instanceIds: ['i-0fffffffffffffff0', a.inst.instanceId] });
    expect(report.actions).toMatchObject([{ hostId: a.hostId, detail: { to: 'poweroff' }, outcome: 'done' }]);
  });

  it('{"events"}: a list of events (e.g. from the DLQ), duplicates included, is replayed safely', async () => {
    const a = w.instanceWithHost();
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const ev = w.stateChangeEvent(a.inst.instanceId, 'terminated');
    const report = await w.onReplay({ events: [ev, ev] });
    expect(report.events?.map((e) => e.outcome)).toEqual(['reconciled', 'duplicate']);
    expect(w.retireCallsFor(a.hostId)).toBe(1);
  });

  it('{"sweep": {}, "dryRun": true}: the whole plan in the report, no write anywhere; the next real sweep still acts', async () => {
    const a = w.instanceWithHost();
    const dup = w.agentHost(a.inst, { roles: { shop: ['db'] } });
    w.healthy(12);
    const s = w.instanceWithHost();
    w.sb.ec2.setState(s.inst.instanceId, 'stopped');
    const t = w.instanceWithHost();
    w.sb.ec2.setState(t.inst.instanceId, 'terminated');
    w.sb.mackerel.setLatestMetric(dup, 'loadavg5', Math.floor(Date.now() / 1000) - 7200, 1);

    const dry = await w.onReplay({ sweep: {}, dryRun: true });

    expect(dry.dryRun).toBe(true);
    expect(dry.actions.map((x) => [x.kind, x.hostId, x.outcome]).sort()).toEqual(
      [
        ['merge-roles', a.hostId, 'planned'],
        ['retire', dup, 'planned'],
        ['retire', t.hostId, 'planned'],
        ['set-status', s.hostId, 'planned'],
      ].sort(),
    );
    expect(dry.findings.detailTypes).toMatchObject({
      'Host Retired': 1,
      'Host Status Changed': 1,
      'Duplicate Host Merged': 1,
    });
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.sb.eventBridge.calls).toEqual([]);
    expect(w.sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances')).toEqual([]);
    expect(await w.tableItems()).toEqual([]);

    const real = await w.onSweep();
    expect(real.actions.filter((x) => x.outcome === 'done')).toHaveLength(4);
    expect(w.retiredIds().sort()).toEqual([dup, t.hostId].sort());
  });

  it('DRY_RUN=true in the environment: the event handler plans and writes nothing', async () => {
    w.setEnv({ DRY_RUN: 'true' });
    const a = w.instanceWithHost();
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const report = await w.onStateChange(w.stateChangeEvent(a.inst.instanceId, 'terminated'));
    expect(report.dryRun).toBe(true);
    expect(report.actions).toMatchObject([{ kind: 'retire', hostId: a.hostId, outcome: 'planned' }]);
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.sb.eventBridge.calls).toEqual([]);
    expect(await w.tableItems()).toEqual([]);
  });
});

describe('bad input', () => {
  const cases: [string, unknown, RegExp][] = [
    ['an unknown key', { instanceIds: ['i-0123456789abcdef0'], dryrun: true }, /unknown field\(s\) "dryrun"/],
    ['a wrong type', { instanceIds: ['i-0123456789abcdef0'], dryRun: 'yes' }, /dryRun: .*boolean/i],
    ['a malformed instance id', { instanceIds: ['web-1'] }, /instanceIds\.0: must be an EC2 instance id/],
    ['two payload kinds at once', { instanceIds: ['i-0123456789abcdef0'], sweep: {} }, /only one of/],
    ['no payload kind', { dryRun: true }, /one of "events", "instanceIds" or "sweep" is required/],
    ['an unknown key inside sweep', { sweep: { region: ['x'] } }, /sweep: unknown field\(s\) "region"/],
    ['a malformed event inside events', { events: [{ id: 'x' }] }, /events\.0\./],
  ];
  it.each(cases)(
    'replay rejects %s, naming the field, and calls nothing',
    async (_name, payload, message) => {
      w.instanceWithHost();
      await expect(w.onReplay(payload)).rejects.toThrow(message);
      expect(w.sb.mackerel.calls).toEqual([]);
      expect(w.sb.ec2.calls).toEqual([]);
    },
  );

  it('instance-state-change rejects a malformed event, naming the field', async () => {
    const ev = w.stateChangeEvent('i-0123456789abcdef0', 'terminated') as Record<string, unknown>;
    await expect(
      w.onStateChange({ ...ev, detail: { 'instance-id': 'nope', state: 'terminated' } }),
    ).rejects.toThrow(/detail\.instance-id: must be an EC2 instance id/);
    await expect(
      w.onStateChange({ ...ev, detail: { 'instance-id': 'i-0123456789abcdef0', state: 'gone' } }),
    ).rejects.toThrow(/detail\.state/);
    expect(w.sb.mackerel.calls).toEqual([]);
  });

  it('a Mackerel response of the wrong shape fails the run with the field named, and retires nothing', async () => {
    const a = w.instanceWithHost();
    w.healthy(9);
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const bad = w.sb.mackerel.addHost({ name: 'weird' });
    (bad as unknown as { createdAt: string }).createdAt = 'yesterday';
    await expect(w.onSweep()).rejects.toThrow(/hosts\.\d+\.createdAt/);
    expect(w.retiredIds()).toEqual([]);
    const failed = w.sb.eventBridge.events.filter((e) => e.detailType === 'Reconcile Failed');
    expect(failed).toMatchObject([
      { detail: { trigger: 'sweep', error: expect.stringMatching(/createdAt/) } },
    ]);
  });

  it('a missing setting is a clear error naming the variable', async () => {
    w.setEnv({ STATE_TABLE: undefined });
    await expect(w.onSweep()).rejects.toThrow(/STATE_TABLE is required/);
    w.setEnv({ STATE_TABLE: 'mackerel-reconciler-state', MAX_RETIRE_PERCENT: 'lots' });
    await expect(w.onSweep()).rejects.toThrow(/MAX_RETIRE_PERCENT must be a number/);
  });
});
