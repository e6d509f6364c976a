/** Replay payloads, dry runs, and bad input: rejected with the field named, nothing half-done. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

  it('{"instanceIds"} of many instances reads the host list once instead of three look-ups each', async () => {
    const all = Array.from({ length: 15 }, () => w.instanceWithHost());
    for (const x of all) w.sb.ec2.setState(x.inst.instanceId, 'stopped');
    const report = await w.onReplay({ instanceIds: all.map((x) => x.inst.instanceId) });
    const lists = w.sb.mackerel.calls.filter((c) => c.method === 'GET' && c.path === '/api/v0/hosts');
    expect(lists).toHaveLength(1);
    expect(lists[0]?.query.name).toBeUndefined();
    expect(lists[0]?.query.customIdentifier).toBeUndefined();
    expect(report.actions.filter((a) => a.outcome === 'done')).toHaveLength(15);
  });

  it('{"instanceIds"}: an unknown id does not hide the others', async () => {
    const a = w.instanceWithHost();
    w.sb.ec2.setState(a.inst.instanceId, 'stopped');
    const report = await w.onReplay({ instanceIds: ['i-0fffffffffffffff0', a.inst.instanceId] });
    expect(report.unknownInstanceIds).toEqual(['i-0fffffffffffffff0']);
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

describe('safety: DRY_RUN=true cannot be overridden by a payload (issue #15)', () => {
  const payloads = (instanceId: string, event: unknown) =>
    [
      ['events', { events: [event], dryRun: false }],
      ['instanceIds', { instanceIds: [instanceId], dryRun: false }],
      ['sweep', { sweep: {}, dryRun: false }],
    ] as const;

  it.each(['events', 'instanceIds', 'sweep'] as const)(
    'a {"%s"} replay with "dryRun": false writes nothing anywhere on a dry-run deployment',
    async (kind) => {
      w.setEnv({ DRY_RUN: 'true' });
      const a = w.instanceWithHost();
      const b = w.instanceWithHost();
      w.healthy(9);
      w.sb.ec2.setState(a.inst.instanceId, 'terminated');
      w.sb.ec2.setState(b.inst.instanceId, 'stopped');
      const target = kind === 'sweep' ? a : a;
      const event = w.stateChangeEvent(target.inst.instanceId, 'terminated');
      const payload = payloads(target.inst.instanceId, event).find(([k]) => k === kind)?.[1];

      const report = await w.onReplay(payload);

      expect(report.dryRun).toBe(true);
      expect(report.dryRunDecidedBy).toBe('environment');
      expect(report.actions.length).toBeGreaterThan(0);
      expect(report.actions.every((x) => x.outcome === 'planned')).toBe(true);
      expect(w.sb.mackerel.writeCalls()).toEqual([]);
      expect(w.sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances')).toEqual([]);
      expect(w.sb.eventBridge.calls).toEqual([]);
      const items = await w.tableItems();
      expect(items.flatMap((i) => Object.keys(i).filter((k) => k.startsWith('A#') || k.startsWith('E#')))).toEqual([]);
      // Once the deployment writes, the same replay acts: nothing was marked done.
      w.setEnv({ DRY_RUN: undefined });
      const real = await w.onReplay(payload);
      expect(real.dryRunDecidedBy).toBe('default');
      expect(w.retiredIds()).toEqual([a.hostId]);
    },
  );

  it('a payload may ask for more caution: "dryRun": true on a writing deployment', async () => {
    const a = w.instanceWithHost();
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const report = await w.onReplay({ instanceIds: [a.inst.instanceId], dryRun: true });
    expect(report).toMatchObject({ dryRun: true, dryRunDecidedBy: 'request' });
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
  });
});

describe('safety: an event whose look failed is not marked handled (issue #15)', () => {
  it('a terminated event during an EC2 outage retires nothing; replayed after recovery it retires once; a third replay writes nothing', async () => {
    const a = w.instanceWithHost();
    w.healthy(9);
    await w.onSweep();
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const event = w.stateChangeEvent(a.inst.instanceId, 'terminated');
    w.sb.ec2.failRegion('ap-northeast-1', { status: 503, code: 'Unavailable', message: 'The service is unavailable.' });

    const during = await w.onStateChange(event);

    expect(during.status).toBe('partial');
    expect(during.events).toMatchObject([{ outcome: 'unknown', note: expect.stringMatching(/could not be read/) }]);
    expect(during.errors).toEqual([expect.stringMatching(/^EC2 ap-northeast-1: /)]);
    expect(w.retiredIds()).toEqual([]);
    const failed = w.sb.eventBridge.events.filter((e) => e.detailType === 'Reconcile Failed');
    expect(failed).toMatchObject([
      { detail: { trigger: 'instance-state-change', eventIds: [(event as { id: string }).id], instanceIds: [a.inst.instanceId] } },
    ]);

    w.sb.ec2.failRegion('ap-northeast-1', null);
    const after = await w.onReplay({ events: [event] });
    expect(after.events).toMatchObject([{ outcome: 'reconciled' }]);
    expect(w.retiredIds()).toEqual([a.hostId]);

    const writes = w.sb.mackerel.writeCalls().length;
    const third = await w.onReplay({ events: [event] });
    expect(third.events).toMatchObject([{ outcome: 'duplicate' }]);
    expect(w.sb.mackerel.writeCalls()).toHaveLength(writes);
    expect(w.retireCallsFor(a.hostId)).toBe(1);
  });

  it('an event whose action failed stays unhandled, publishes Reconcile Failed, and a redelivery acts', async () => {
    const a = w.instanceWithHost();
    w.healthy(9);
    await w.onSweep();
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const event = w.stateChangeEvent(a.inst.instanceId, 'terminated');
    w.sb.mackerel.inject({ pathPrefix: '/api/v0/hosts/bulk-retire', status: 500, times: 5 });

    const first = await w.onStateChange(event);
    expect(first.status).toBe('partial');
    expect(first.actions).toMatchObject([{ kind: 'retire', outcome: 'failed' }]);
    expect(first.errors).toEqual([expect.stringMatching(/^retire /)]);
    expect(w.sb.eventBridge.events.map((e) => e.detailType).filter((d) => d === 'Reconcile Failed')).toHaveLength(1);

    const again = await w.onStateChange(event);
    expect(again.events).toMatchObject([{ outcome: 'reconciled' }]);
    expect(w.retiredIds()).toEqual([a.hostId]);
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

  it('one host of the wrong shape is quarantined: the rest is reconciled, and the report names it', async () => {
    const a = w.instanceWithHost();
    w.healthy(9);
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const old = w.sb.mackerel.addHost({ name: 'old-host' });
    (old as unknown as { meta: string }).meta = ''; // real organisations hold such old hosts
    const bad = w.sb.mackerel.addHost({ name: 'weird' });
    (bad as unknown as { createdAt: string }).createdAt = 'yesterday';

    const report = await w.onSweep();

    expect(report.status).toBe('ok');
    expect(w.retiredIds()).toEqual([a.hostId]);
    expect(report.unreadableHosts).toEqual(
      expect.arrayContaining([
        { id: old.id, field: expect.stringMatching(/^hosts\.\d+\.meta$/), problem: expect.stringMatching(/object/) },
        { id: bad.id, field: expect.stringMatching(/^hosts\.\d+\.createdAt$/), problem: expect.stringMatching(/number/) },
      ]),
    );
    expect(report.unreadableHosts).toHaveLength(2);
    const touched = w.sb.mackerel.writeCalls().filter((c) => JSON.stringify(c).match(new RegExp(`${old.id}|${bad.id}`)));
    expect(touched).toEqual([]);
    // The event path and the command line's replay read the same way.
    const { inst } = w.instanceWithHost({}, { name: 'x' });
    const oddTwin = w.sb.mackerel.addHost({ name: inst.privateDnsName });
    (oddTwin as unknown as { meta: string }).meta = '';
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const event = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'stopped'));
    expect(event.unreadableHosts).toMatchObject([{ id: oddTwin.id, field: 'hosts.0.meta' }]);
    expect(event.actions).toMatchObject([{ kind: 'set-status', outcome: 'done' }]);
  });

  it('a host list whose envelope is wrong fails the run loudly, naming the field, with no write', async () => {
    const a = w.instanceWithHost();
    w.healthy(9);
    w.sb.ec2.setState(a.inst.instanceId, 'terminated');
    const seen: string[] = [];
    const broken = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"hosts":{"a":1}}');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      w.setEnv({ MACKEREL_APIBASE: `http://127.0.0.1:${(broken.address() as AddressInfo).port}` });
      await expect(w.onSweep()).rejects.toThrow(/GET \/api\/v0\/hosts answered an unexpected shape: hosts: .*array/);
      await expect(w.onStateChange(w.stateChangeEvent(a.inst.instanceId, 'terminated'))).rejects.toThrow(/hosts: /);
    } finally {
      broken.close();
    }
    expect(seen.every((s) => s.startsWith('GET '))).toBe(true);
    expect(w.retiredIds()).toEqual([]);
    const events = w.sb.eventBridge.events.map((e) => e.detailType);
    expect(events).toEqual(['Reconcile Failed', 'Reconcile Failed']);
    expect(w.sb.eventBridge.events.map((e) => (e.detail as { trigger: string }).trigger)).toEqual([
      'sweep',
      'instance-state-change',
    ]);
    // Nothing was marked done: the state table holds no ledger entry.
    const ledger = (await w.tableItems()).flatMap((i) => Object.keys(i).filter((k) => k.startsWith('A#')));
    expect(ledger).toEqual([]);
  });

  it('a missing setting is a clear error naming the variable', async () => {
    w.setEnv({ STATE_TABLE: undefined });
    await expect(w.onSweep()).rejects.toThrow(/STATE_TABLE is required/);
    w.setEnv({ STATE_TABLE: 'mackerel-reconciler-state', MAX_RETIRE_PERCENT: 'lots' });
    await expect(w.onSweep()).rejects.toThrow(/MAX_RETIRE_PERCENT must be a number/);
  });
});
