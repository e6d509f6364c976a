/** The first behaviour end to end: a terminated instance's hosts are retired, through both handlers. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

describe('terminated instance', () => {
  it('instance-state-change: the hosts of a terminated instance are retired, a finding is published', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const { hostId: other } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'terminated');

    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'terminated'));

    expect(report.status).toBe('ok');
    expect(report.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done' }]);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(other)?.isRetired).toBe(false);
    expect(w.retireCallsFor(hostId)).toBe(1);
    const finding = w.sb.eventBridge.events.find((e) => e.detailType === 'Host Retired');
    expect(finding).toMatchObject({
      source: 'mackerel-reconciler',
      detail: { hostId, instanceId: inst.instanceId },
    });
  });

  it('instance-state-change: an instance EC2 never showed us is unknown: nothing done, the event stays unhandled', async () => {
    const { inst } = w.instanceWithHost();
    w.sb.ec2.forget(inst.instanceId);

    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'terminated'));

    expect(report.actions).toEqual([]);
    expect(report.events).toMatchObject([{ outcome: 'unknown', note: expect.stringMatching(/NotFound/) }]);
    expect(report.unknownInstanceIds).toEqual([inst.instanceId]);
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.retiredIds()).toEqual([]);
  });

  it.each(['pending', 'running'])(
    'a %s event for a new instance EC2 still answers NotFound for changes nothing, and is looked at again on redelivery',
    async (state) => {
      w.healthy(5);
      await w.onSweep();
      const { inst, hostId } = w.instanceWithHost({ state: state as 'pending' | 'running' });
      w.sb.ec2.lag(inst.instanceId);
      const event = w.stateChangeEvent(inst.instanceId, state);

      const first = await w.onStateChange(event);
      expect(first.events).toMatchObject([{ outcome: 'unknown' }]);
      expect(first.actions).toEqual([]);
      expect(w.sb.mackerel.writeCalls()).toEqual([]);
      const sweepAfter = await w.onSweep();
      expect(sweepAfter.actions).toEqual([]);
      expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);

      const describes = w.sb.ec2.calls.length;
      w.sb.ec2.lag(inst.instanceId, false);
      const again = await w.onStateChange(event);
      expect(again.events).toMatchObject([{ outcome: 'reconciled' }]);
      expect(w.sb.ec2.calls.slice(describes).map((c) => c.action)).toEqual(['DescribeInstances']);
      const third = await w.onStateChange(event);
      expect(third.events).toMatchObject([{ outcome: 'duplicate' }]);
      expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);
    },
  );

  it('a running event contradicting a NotFound for an instance seen before proves nothing either way: nothing done', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.healthy(9);
    await w.onSweep();
    w.sb.ec2.lag(inst.instanceId);

    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'running'));

    expect(report.actions).toEqual([]);
    expect(report.events).toMatchObject([{ outcome: 'unknown' }]);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);
  });

  it('a brand-new instance (never swept) EC2 answers NotFound for: its host is not retired by event, replay or sweep', async () => {
    w.healthy(5);
    await w.onSweep();
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.lag(inst.instanceId);

    await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'running'));
    await w.onReplay({ instanceIds: [inst.instanceId] });
    await w.onSweep();

    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);
    expect(w.retireCallsFor(hostId)).toBe(0);
  });

  it('an instance seen running, then NotFound, is retired once', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.healthy(9);
    await w.onSweep();
    w.sb.ec2.forget(inst.instanceId);

    const event = w.stateChangeEvent(inst.instanceId, 'terminated');
    const first = await w.onStateChange(event);
    await w.onStateChange(event);
    await w.onReplay({ instanceIds: [inst.instanceId] });
    await w.onSweep();

    expect(first.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done', instanceState: 'gone' }]);
    expect(w.retireCallsFor(hostId)).toBe(1);
    expect(w.retiredIds()).toEqual([hostId]);
  });

  it('sweep: terminated hosts retired, a foreign host and a running one untouched', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const { hostId: running } = w.instanceWithHost();
    w.healthy(8);
    const foreign = w.sb.mackerel.addHost({
      name: 'ip-10-99-0-1.ap-northeast-1.compute.internal',
      customIdentifier: 'i-0123456789abcdef0.ec2.amazonaws.com',
    });
    w.sb.ec2.setState(inst.instanceId, 'terminated');

    const report = await w.onSweep();

    expect(report.trigger).toBe('sweep');
    // How large the host list was and how long it took (issue #16): the bytes the sandbox sent for it.
    const listCall = w.sb.mackerel.calls.find((c) => c.method === 'GET' && c.path === '/api/v0/hosts');
    expect(report.hostList).toEqual({ hosts: 11, bytes: listCall?.bytes, durationMs: expect.any(Number) });
    expect(report.hostList?.bytes).toBeGreaterThan(1000);
    expect(report.actions.filter((a) => a.kind === 'retire')).toMatchObject([{ hostId, outcome: 'done' }]);
    expect(w.retiredIds()).toEqual([hostId]);
    expect(report.foreignHostIds).toEqual([foreign.id]);
    const touchedForeign = w.sb.mackerel
      .writeCalls()
      .filter((c) => c.path.includes(foreign.id) || JSON.stringify(c.body).includes(foreign.id));
    expect(touchedForeign).toEqual([]);
    expect(w.sb.mackerel.hosts.get(running)?.isRetired).toBe(false);
  });

  it('sweep: an owned instance that vanished from DescribeInstances is retired; a failed region retires nothing', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.healthy(9);
    await w.onSweep(); // the account sees the instance: ownership recorded
    w.sb.ec2.forget(inst.instanceId);
    w.sb.ec2.failRegion('ap-northeast-1', { status: 403, code: 'UnauthorizedOperation', message: 'no' });

    const failed = await w.onSweep();
    expect(failed.status).toBe('partial');
    expect(failed.regions).toMatchObject([{ region: 'ap-northeast-1', ok: false }]);
    expect(w.retiredIds()).toEqual([]);

    w.sb.ec2.failRegion('ap-northeast-1', null);
    const ok = await w.onSweep();
    expect(ok.actions).toMatchObject([
      { kind: 'retire', hostId, outcome: 'done', detail: { retireReason: 'instance-gone' } },
    ]);
    expect(w.retiredIds()).toEqual([hostId]);
  });

  it('sweep and event: the agent-without-IMDS host of a terminated instance is retired with it', async () => {
    const a = w.instanceWithHost();
    const b = w.instanceWithHost();
    const dupA = w.agentHost(a.inst);
    const dupB = w.agentHost(b.inst);
    w.healthy(18);
    w.sb.mackerel.setLatestMetric(dupA, 'loadavg5', Math.floor(Date.now() / 1000) - 60, 1);
    w.sb.mackerel.setLatestMetric(dupB, 'loadavg5', Math.floor(Date.now() / 1000) - 60, 1);
    await w.onSweep(); // sees both instances running, records their links (and warns about the duplicates)
    w.sb.ec2.setState(a.inst.instanceId, 'terminated'); // EC2 now answers without private DNS name or IP
    w.sb.ec2.setState(b.inst.instanceId, 'terminated');

    const event = await w.onStateChange(w.stateChangeEvent(a.inst.instanceId, 'terminated'));
    const rows = event.actions.map((x) => [x.kind, x.hostId, x.outcome].join(' '));
    expect(rows.sort()).toEqual(
      [
        ...[a.hostId, dupA].map((id) => `retire ${id} done`),
        `forget-memo ${dupA} done`, // its duplicate-host warning memo goes with it
      ].sort(),
    );
    expect(event.foreignHostIds).toEqual([]);

    const sweep = await w.onSweep();
    expect(
      sweep.actions
        .filter((x) => x.kind === 'retire')
        .map((x) => x.hostId)
        .sort(),
    ).toEqual([b.hostId, dupB].sort());
    expect(w.retiredIds().sort()).toEqual([a.hostId, dupA, b.hostId, dupB].sort());
  });
});
