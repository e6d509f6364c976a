/** Every drift in docs/design.md, driven through the real handlers against the sandbox. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, HOUR_MS, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

const nowS = () => Math.floor(Date.now() / 1000);

describe('exactly once', () => {
  it('a terminated event delivered three times at once retires once', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'terminated');
    const event = w.stateChangeEvent(inst.instanceId, 'terminated');

    const reports = await Promise.all([
      w.onStateChange(event),
      w.onStateChange(event),
      w.onStateChange(event),
    ]);

    expect(w.retireCallsFor(hostId)).toBe(1);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(true);
    const outcomes = reports.flatMap((r) => r.actions.map((a) => a.outcome));
    expect(outcomes.filter((o) => o === 'done')).toHaveLength(1);
    expect(w.sb.eventBridge.events.filter((e) => e.detailType === 'Host Retired')).toHaveLength(1);
  });

  it('the same event delivered again later is recognised as a duplicate and reads nothing', async () => {
    const { inst } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'terminated');
    const event = w.stateChangeEvent(inst.instanceId, 'terminated');
    await w.onStateChange(event);
    const calls = w.sb.mackerel.calls.length;

    const again = await w.onStateChange(event);

    expect(again.events).toMatchObject([{ outcome: 'duplicate' }]);
    expect(w.sb.mackerel.calls.length).toBe(calls);
  });

  it('a second sweep after a converged one makes no write call at all', async () => {
    const { inst } = w.instanceWithHost();
    w.healthy(9);
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const first = await w.onSweep();
    expect(first.counts.done).toBeGreaterThan(0);
    const writes = w.sb.mackerel.writeCalls().length;
    const puts = w.sb.eventBridge.calls.length;
    const modifies = w.sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances').length;

    const second = await w.onSweep();

    expect(second.actions).toEqual([]);
    expect(w.sb.mackerel.writeCalls().length).toBe(writes);
    expect(w.sb.eventBridge.calls.length).toBe(puts);
    expect(w.sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances').length).toBe(modifies);
  });

  it('a run killed between claim and action loses nothing: the claim expires and the action is retried', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'terminated');
    const { runtimeFor } = await import('../../shared/runtime.js');
    const { runEvents } = await import('../../shared/reconcile/run.js');
    const { lambdaContext } = await import('../support/world.js');
    const { Ec2StateChangeEvent } = await import('../../shared/events/schemas.js');
    const ctx = lambdaContext(w.sb.functionArn('instance-state-change'));
    const event = Ec2StateChangeEvent.parse(w.stateChangeEvent(inst.instanceId, 'terminated'));

    const rt = await runtimeFor(ctx);
    await expect(
      runEvents(rt, [event], { trigger: 'instance-state-change', crashAfterClaim: true }),
    ).rejects.toThrow(/simulated/);
    expect(w.retireCallsFor(hostId)).toBe(0);

    // Redelivered at once: the dead run's claim still holds, nothing happens twice.
    const soon = await w.onStateChange(event);
    expect(soon.actions).toMatchObject([{ hostId, outcome: 'in-progress' }]);
    expect(w.retireCallsFor(hostId)).toBe(0);

    // After the lease: the sweep (or a retry) performs it, once.
    const later = await runtimeFor(ctx, { clock: () => Date.now() + 17 * 60_000 });
    const { runSweep } = await import('../../shared/reconcile/run.js');
    w.healthy(9);
    const report = await runSweep(later, { trigger: 'sweep' });
    expect(report.actions).toMatchObject([{ hostId, outcome: 'done' }]);
    expect(w.retireCallsFor(hostId)).toBe(1);
  });

  it('two sweeps at once: one holds the lease, the other skips', async () => {
    w.healthy(3);
    const [a, b] = await Promise.all([w.onSweep(), w.onSweep()]);
    expect([a.status, b.status].sort()).toEqual(['ok', 'skipped']);
    expect([a, b].find((r) => r.status === 'skipped')?.skipped).toMatch(/lease/);
  });
});

describe('the event path', () => {
  const cost = async (instanceId: string, state: 'terminated' | 'stopped') => {
    const { runtimeFor } = await import('../../shared/runtime.js');
    const { lambdaContext } = await import('../support/world.js');
    const rt = await runtimeFor(lambdaContext(w.sb.functionArn('instance-state-change')));
    const before = {
      dynamo: rt.store.stats.requests,
      ec2: w.sb.ec2.calls.length,
      mackerel: w.sb.mackerel.calls.length,
    };
    w.sb.ec2.setState(instanceId, state);
    const report = await w.onStateChange(w.stateChangeEvent(instanceId, state));
    return {
      report,
      dynamo: rt.store.stats.requests - before.dynamo,
      ec2: w.sb.ec2.calls.slice(before.ec2).map((c) => c.action),
      mackerel: w.sb.mackerel.calls.slice(before.mackerel).map((c) => `${c.method} ${c.path}`),
      lookups: w.sb.mackerel.calls
        .slice(before.mackerel)
        .filter((c) => c.method === 'GET' && c.path === '/api/v0/hosts')
        .map((c) => ({ customIdentifier: c.query.customIdentifier, name: c.query.name, status: c.query.status })),
    };
  };

  it.each([
    ['terminated', ['POST /api/v0/hosts/bulk-retire']],
    // a planned poweroff lists the open alerts once (#12), to close the powered-off host's
    ['stopped', ['GET /api/v0/alerts', 'POST /api/v0/hosts/bulk-update-statuses']],
  ] as const)('a %s event costs one look at EC2, three filtered host look-ups, the action and three DynamoDB requests', async (state, calls) => {
    const { inst } = w.instanceWithHost();
    w.healthy(9);
    await w.onSweep();

    const c = await cost(inst.instanceId, state);

    expect(c.report.actions).toMatchObject([{ outcome: 'done' }]);
    expect(c.ec2).toEqual(['DescribeInstances']);
    // …and one graph annotation for the host's service (`shop`)
    expect(c.mackerel).toEqual([
      'GET /api/v0/hosts',
      'GET /api/v0/hosts',
      'GET /api/v0/hosts',
      ...calls,
      'POST /api/v0/graph-annotations',
    ]);
    // Never the whole organisation: each look-up is filtered, and asks for all four live statuses.
    const all = ['working', 'standby', 'maintenance', 'poweroff'];
    const dns = inst.privateDnsName as string;
    expect(c.lookups).toEqual(
      expect.arrayContaining([
        { customIdentifier: [`${inst.instanceId}.ec2.amazonaws.com`], name: undefined, status: all },
        { customIdentifier: undefined, name: [dns], status: all },
        { customIdentifier: undefined, name: [dns.split('.')[0]], status: all },
      ]),
    );
    expect(c.dynamo).toBe(3);
  });

  it('an event finds a host recorded by a sweep but matched by no filter (cloud meta, other name) by its id', async () => {
    const inst = w.sb.ec2.addInstance({ launchTime: new Date(Date.now() - HOUR_MS) });
    const hostId = w.sb.mackerel.addHost({
      name: 'renamed-by-hand',
      meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': inst.instanceId } } },
    }).id;
    w.healthy(5);
    await w.onSweep();

    const c = await cost(inst.instanceId, 'terminated');

    expect(c.report.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done' }]);
    expect(c.mackerel).toContain(`GET /api/v0/hosts/${hostId}`);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(true);
  });

  it('an event for an instance never seen before costs the same', async () => {
    const { inst } = w.instanceWithHost();
    const c = await cost(inst.instanceId, 'terminated');
    expect(c.report.actions).toMatchObject([{ kind: 'retire', outcome: 'done' }]);
    expect(c.ec2).toEqual(['DescribeInstances']);
    expect(c.dynamo).toBe(3);
  });
});

describe('memos of retired hosts', () => {
  it('go in the run that retires the host, and stay while the retirement fails', async () => {
    const { inst, hostId } = w.instanceWithHost({}, { status: 'standby' });
    w.healthy(9);
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    await w.onSweep();
    const restoreItems = async () =>
      // The scan answers raw attribute values ({S: …}).
      (await w.tableItems()).filter(
        (i) => (i.pk as { S?: string }).S === `INSTANCE#${inst.instanceId}` && `R#${hostId}` in i,
      );
    expect(await restoreItems()).toHaveLength(1);

    w.sb.ec2.setState(inst.instanceId, 'terminated');
    // Every attempt of the client's bulk-retire fails: the retirement is given back, the memo stays.
    w.sb.mackerel.inject({ status: 500, times: 5, pathPrefix: '/api/v0/hosts/bulk-retire' });
    const failed = await w.onSweep();
    expect(failed.actions.map((a) => [a.kind, a.outcome])).toEqual([
      ['retire', 'failed'],
      ['forget-memo', 'deferred'],
    ]);
    expect(await restoreItems()).toHaveLength(1);

    const retried = await w.onSweep();
    expect(retried.actions.map((a) => [a.kind, a.outcome])).toEqual([
      ['retire', 'done'],
      ['forget-memo', 'done'],
    ]);
    expect(w.retireCallsFor(hostId)).toBe(1);
    expect(await restoreItems()).toEqual([]);
    expect((await w.onSweep()).actions).toEqual([]);
  });
});

describe('bulk calls', () => {
  it('a status change whose second batch of 30 fails gives back only that batch, none unreported', async () => {
    const fleet = Array.from({ length: 35 }, () => w.instanceWithHost());
    for (const { inst } of fleet) w.sb.ec2.setState(inst.instanceId, 'stopped');
    // The first bulk call goes through; every attempt at the second fails.
    w.sb.mackerel.onMutation = () => {
      w.sb.mackerel.onMutation = undefined;
      w.sb.mackerel.inject({ status: 500, times: 5, pathPrefix: '/api/v0/hosts/bulk-update-statuses' });
    };
    const first = await w.onSweep();
    const outcomes = (r: typeof first) =>
      r.actions.filter((a) => a.kind === 'set-status').map((a) => a.outcome).sort();
    expect(outcomes(first)).toEqual([...Array(30).fill('done'), ...Array(5).fill('failed')]);
    const changed = () => w.sb.eventBridge.events.filter((e) => e.detailType === 'Host Status Changed');
    expect(changed()).toHaveLength(30);

    const second = await w.onSweep();
    expect(outcomes(second)).toEqual(Array(5).fill('done'));
    const statuses = fleet.map(({ hostId }) => w.sb.mackerel.hosts.get(hostId)?.status);
    expect(statuses).toEqual(Array(35).fill('poweroff'));
    // One finding per host changed, each host changed once.
    expect(new Set(changed().map((e) => (e.detail as { hostId: string }).hostId)).size).toBe(35);
    expect(w.sb.mackerel.mutations.filter((m) => m.kind === 'status')).toHaveLength(35);
  });
});

describe('stop and start', () => {
  it('stopped → poweroff remembering standby; running again → standby restored', async () => {
    const { inst, hostId } = w.instanceWithHost({}, { status: 'standby' });
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const stop = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'stopped'));
    expect(stop.actions).toMatchObject([
      { kind: 'set-status', hostId, outcome: 'done', detail: { to: 'poweroff' } },
    ]);
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('poweroff');
    const hostWrites = () => w.sb.mackerel.writeCalls().filter((c) => c.path !== '/api/v0/graph-annotations');
    expect(hostWrites().at(-1)).toMatchObject({
      path: '/api/v0/hosts/bulk-update-statuses',
      body: { ids: [hostId], status: 'poweroff' },
    });

    w.sb.ec2.setState(inst.instanceId, 'running');
    await new Promise((r) => setTimeout(r, 1100)); // event times have one-second resolution
    const start = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'running'));
    expect(start.actions).toMatchObject([
      { kind: 'set-status', hostId, outcome: 'done', detail: { to: 'standby' } },
    ]);
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('standby');
    expect(w.sb.eventBridge.events.filter((e) => e.detailType === 'Host Status Changed')).toHaveLength(2);
  });

  it('a stopped event followed by an older running event leaves the host poweroff (EC2 still says stopped)', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const t = Date.now();
    await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'stopped', { time: new Date(t) }));
    const describes = w.sb.ec2.calls.length;

    const late = await w.onStateChange(
      w.stateChangeEvent(inst.instanceId, 'running', { time: new Date(t - 60_000) }),
    );

    // Events are hints: the late event still got its look at EC2, which decided.
    expect(w.sb.ec2.calls.slice(describes).map((c) => c.action)).toEqual(['DescribeInstances']);
    expect(late.events).toMatchObject([{ outcome: 'reconciled' }]);
    expect(late.actions).toEqual([]);
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('poweroff');
  });

  it('a running event older than the last look restores the host at once when EC2 says running', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const t = Date.now();
    await w.onSweep();
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('poweroff');

    // The instance started; its running event was stamped before the sweep's look (EC2 lagged, or late delivery).
    w.sb.ec2.setState(inst.instanceId, 'running');
    const late = await w.onStateChange(
      w.stateChangeEvent(inst.instanceId, 'running', { time: new Date(t - 60_000) }),
    );

    expect(late.events).toMatchObject([{ outcome: 'reconciled' }]);
    expect(late.actions).toMatchObject([{ kind: 'set-status', hostId, outcome: 'done' }]);
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('working');
  });

  it('a host a person set to poweroff is not restored on start', async () => {
    const { inst, hostId } = w.instanceWithHost({}, { status: 'poweroff' });
    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'running'));
    expect(report.actions).toEqual([]);
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('poweroff');
  });
});

describe('duplicates', () => {
  it('a silent duplicate: roles merged onto the canonical host, duplicate retired, one tsdb/latest call', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.healthy(9);
    const dup = w.agentHost(inst, { roles: { shop: ['batch'] } });
    w.sb.mackerel.setLatestMetric(dup, 'loadavg5', nowS() - 3600, 0.1);

    const report = await w.onSweep();

    expect(report.actions.map((a) => [a.kind, a.hostId, a.outcome])).toEqual([
      ['merge-roles', hostId, 'done'],
      ['retire', dup, 'done'],
    ]);
    expect(w.sb.mackerel.hosts.get(hostId)?.roles).toEqual({ shop: ['batch', 'web'] });
    expect(w.sb.mackerel.hosts.get(dup)?.isRetired).toBe(true);
    expect(w.sb.mackerel.calls.filter((c) => c.path === '/api/v0/tsdb/latest')).toHaveLength(1);
    expect(
      w.sb.eventBridge.events.find((e) => e.detailType === 'Duplicate Host Merged')?.detail,
    ).toMatchObject({
      hostId: dup,
      canonicalHostId: hostId,
    });
  });

  it('a duplicate still reporting gets a duplicate-host warning with the fix, once', async () => {
    const { inst } = w.instanceWithHost();
    w.healthy(9);
    const dup = w.agentHost(inst);
    w.sb.mackerel.setLatestMetric(dup, 'loadavg5', nowS() - 30, 0.1);

    await w.onSweep();
    await w.onSweep();

    const reports = w.sb.mackerel.checkReports as {
      name: string;
      status: string;
      message: string;
      source: { hostId: string };
    }[];
    const dupReports = reports.filter((r) => r.name === 'duplicate-host');
    expect(dupReports).toHaveLength(1);
    expect(dupReports[0]).toMatchObject({ status: 'WARNING', source: { hostId: dup } });
    expect(dupReports[0]?.message).toMatch(/delete \/var\/lib\/mackerel-agent\/id/);
    expect(w.sb.mackerel.hosts.get(dup)?.isRetired).toBe(false);
    expect(w.sb.eventBridge.events.filter((e) => e.detailType === 'Duplicate Hosts Detected')).toHaveLength(
      1,
    );
  });
});

describe('IMDS', () => {
  it('disabled: imds-disabled WARNING and a finding; nothing changed on EC2 by default', async () => {
    const { hostId } = w.instanceWithHost({ httpEndpoint: 'disabled' });
    w.healthy(3);
    await w.onSweep();
    expect(w.sb.mackerel.checkReports).toMatchObject([
      { name: 'imds-disabled', status: 'WARNING', source: { type: 'host', hostId } },
    ]);
    expect(w.sb.eventBridge.events.map((e) => e.detailType)).toContain('IMDS Disabled');
    expect(w.sb.ec2.calls.filter((c) => c.action === 'ModifyInstanceMetadataOptions')).toEqual([]);
  });

  it('IMDS_REMEDIATE=true: enabled through ModifyInstanceMetadataOptions, then OK on the next sweep', async () => {
    w.setEnv({ IMDS_REMEDIATE: 'true' });
    const { inst, hostId } = w.instanceWithHost({ httpEndpoint: 'disabled' });
    w.healthy(3);
    await w.onSweep();
    expect(w.sb.ec2.calls.filter((c) => c.action === 'ModifyInstanceMetadataOptions')).toMatchObject([
      { params: { InstanceId: inst.instanceId, HttpEndpoint: 'enabled' } },
    ]);
    expect(w.sb.ec2.instances.get(inst.instanceId)?.httpEndpoint).toBe('enabled');

    await w.onSweep();
    expect(w.sb.mackerel.checkReports).toMatchObject([
      { name: 'imds-disabled', status: 'WARNING', source: { hostId } },
      { name: 'imds-disabled', status: 'OK', source: { hostId } },
    ]);
    expect(w.sb.eventBridge.events.map((e) => e.detailType)).toContain('IMDS Remediated');
  });
});

describe('safety', () => {
  it('circuit breaker: too many retirements in one sweep retire nothing and publish the trip', async () => {
    w.setEnv({ MAX_RETIRE_PER_RUN: '2' });
    w.healthy(30);
    const dead = [w.instanceWithHost(), w.instanceWithHost(), w.instanceWithHost()];
    for (const d of dead) w.sb.ec2.setState(d.inst.instanceId, 'terminated');

    const report = await w.onSweep();

    expect(report.circuitBreaker).toMatchObject({ tripped: true, retirements: 3 });
    expect(w.retiredIds()).toEqual([]);
    expect(w.sb.eventBridge.events.map((e) => e.detailType)).toEqual(['Circuit Breaker Tripped']);
    // Held is visible: every retirement it held back is in the report and in the finding, with its host.
    const held = report.actions.filter((a) => a.outcome === 'held');
    expect(held.map((a) => a.hostId).sort()).toEqual(dead.map((d) => d.hostId).sort());
    expect(held.every((a) => a.kind === 'retire' && /circuit breaker/.test(a.heldBecause ?? ''))).toBe(true);
    expect(report.counts).toMatchObject({ held: 3, planned: 0, done: 0 });
    const finding = w.sb.eventBridge.events[0]?.detail as { hosts: { hostId: string }[] };
    expect(finding.hosts.map((h) => h.hostId).sort()).toEqual(dead.map((d) => d.hostId).sort());
    // A dry run shows the same held retirements.
    const dry = await w.onReplay({ sweep: {}, dryRun: true });
    expect(dry.actions.filter((a) => a.outcome === 'held')).toHaveLength(3);
  });

  it('the opt-out tag keeps a terminated instance’s host', async () => {
    const { inst, hostId } = w.instanceWithHost({ tags: { 'mackerel-reconciler:ignore': 'true' } });
    w.healthy(9);
    w.sb.ec2.setState(inst.instanceId, 'terminated');
    const report = await w.onSweep();
    expect(report.ignoredInstanceIds).toContain(inst.instanceId);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);
  });

  it('an event from another account changes nothing', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'terminated');
    const report = await w.onStateChange(
      w.stateChangeEvent(inst.instanceId, 'terminated', { account: '999999999999' }),
    );
    expect(report.events).toMatchObject([{ outcome: 'foreign-account' }]);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);
    expect(w.sb.mackerel.calls).toEqual([]);
  });

  it('the host of an instance running again is not retired: re-checked right before retiring', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const { runtimeFor } = await import('../../shared/runtime.js');
    const { execute } = await import('../../shared/reconcile/execute.js');
    const { portsOf } = await import('../../shared/reconcile/ports.js');
    const { lambdaContext } = await import('../support/world.js');
    const rt = await runtimeFor(lambdaContext(w.sb.functionArn('sweep')));
    const { planOf } = await import('../support/builders.js');
    const stalePlan = planOf([
      {
        kind: 'retire' as const,
        key: `retire#${hostId}`,
        instanceId: inst.instanceId,
        region: 'ap-northeast-1',
        hostId,
        hostName: inst.privateDnsName,
        retireReason: 'instance-terminated' as const,
        reason: 'planned from a stale read',
        findings: [],
      },
    ]);
    const res = await execute(stalePlan, portsOf(rt), { runId: 'r1', dryRun: false, clock: Date.now });
    expect(res.results).toMatchObject([
      { hostId, outcome: 'blocked', error: expect.stringMatching(/running/) },
    ]);
    expect(w.retireCallsFor(hostId)).toBe(0);
  });

  it('Mackerel 500s and 429s during a sweep are retried and the sweep still converges', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.healthy(9);
    w.sb.ec2.setState(inst.instanceId, 'terminated');
    w.sb.mackerel.inject({ status: 500, times: 2 });
    w.sb.mackerel.inject({ status: 429, times: 1, pathPrefix: '/api/v0/hosts/bulk-retire' });
    const report = await w.onSweep();
    expect(report.actions).toMatchObject([{ hostId, outcome: 'done' }]);
    expect(w.retireCallsFor(hostId)).toBe(1);
    expect(w.sb.mackerel.calls.filter((c) => c.status >= 429).length).toBe(3);
  });
});
