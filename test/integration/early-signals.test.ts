/**
 * Early signals and open alerts end to end: a Spot interruption warning or an Auto Scaling terminate lifecycle
 * action powers an instance's hosts off at once, held as *terminating* for TERMINATING_HOLD_MINUTES while the
 * instance still runs; the termination then retires them. A poweroff closes the host's open alerts (one listing
 * per run, paged with nextId), and only its own.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asgTerminateEvent, spotInterruptionEvent } from '../../sandbox/index.js';
import { runSweep } from '../../shared/reconcile/run.js';
import { runtimeFor } from '../../shared/runtime.js';
import { createWorld, lambdaContext, type World } from '../support/world.js';


/** the pk of a raw DynamoDB item */
const pkOf = (i: Record<string, unknown>) => String((i.pk as { S?: string } | undefined)?.S ?? '');
let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
  w.healthy(9);
});
afterEach(() => w.stop());

const status = (id: string) => w.sb.mackerel.hosts.get(id)?.status;
const spot = (instanceId: string) => spotInterruptionEvent({ accountId: w.sb.accountId, instanceId });
/** a sweep whose clock runs `minutes` ahead (the hold is a matter of time) */
async function sweepAt(minutes: number) {
  const rt = await runtimeFor(lambdaContext(w.sb.functionArn('sweep')), { clock: () => Date.now() + minutes * 60_000 });
  return runSweep(rt, { trigger: 'sweep' });
}

describe('early signals', () => {
  it('a Spot warning powers the hosts off at once; a sweep within the hold does not restore them, one after it does', async () => {
    const { inst, hostId } = w.instanceWithHost();
    await w.onSweep();

    const report = await w.onStateChange(spot(inst.instanceId));

    expect(report.events).toMatchObject([{ outcome: 'reconciled', signal: 'spot-interruption' }]);
    expect(report.actions).toMatchObject([{ kind: 'set-status', hostId, outcome: 'done', detail: { to: 'poweroff' } }]);
    expect(status(hostId)).toBe('poweroff');
    const item = (await w.tableItems()).find((i) => pkOf(i) === `INSTANCE#${inst.instanceId}`);
    expect(item?.[`R#${hostId}`]).toMatchObject({ M: { status: { S: 'working' }, terminating: { BOOL: true } } });

    // EC2 still says running: within the hold, nothing is restored (a converged plan)
    const within = await w.onSweep();
    expect(within.actions).toEqual([]);
    expect(status(hostId)).toBe('poweroff');
    // the instance outlived the hold (the warning was not followed): its hosts get their status back
    const after = await sweepAt(61);
    expect(after.actions).toMatchObject([{ kind: 'set-status', hostId, outcome: 'done', detail: { to: 'working' } }]);
    expect(status(hostId)).toBe('working');
    expect((await w.onSweep()).actions).toEqual([]);
  });

  it('the termination after the warning retires the hosts, once; the sweep after it is converged', async () => {
    const { inst, hostId } = w.instanceWithHost();
    await w.onSweep();
    await w.onStateChange(spot(inst.instanceId));
    expect(status(hostId)).toBe('poweroff');

    w.sb.ec2.setState(inst.instanceId, 'terminated');
    const end = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'terminated'));

    expect(end.actions).toMatchObject([
      { kind: 'retire', hostId, outcome: 'done' },
      { kind: 'forget-memo', hostId, outcome: 'done' },
    ]);
    expect(w.retireCallsFor(hostId)).toBe(1);
    expect((await w.onSweep()).actions).toEqual([]);
  });

  it('an ASG terminate lifecycle action powers the hosts off the same way (the hook itself is never touched)', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const report = await w.onStateChange(asgTerminateEvent({ accountId: w.sb.accountId, instanceId: inst.instanceId }));
    expect(report.events).toMatchObject([{ outcome: 'reconciled', signal: 'asg-terminate' }]);
    expect(report.actions).toMatchObject([{ kind: 'set-status', hostId, outcome: 'done' }]);
    expect(status(hostId)).toBe('poweroff');
    // the only writes: the status change and its graph annotation (no Auto Scaling client exists in this service)
    expect(w.sb.mackerel.writeCalls().map((c) => c.path)).toEqual(['/api/v0/hosts/bulk-update-statuses', '/api/v0/graph-annotations']);
  });

  it('a warning from another account changes nothing', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const report = await w.onStateChange(spotInterruptionEvent({ accountId: '210987654321', instanceId: inst.instanceId }));
    expect(report.events).toMatchObject([{ outcome: 'foreign-account' }]);
    expect(status(hostId)).toBe('working');
  });

  it('dry run (replay): the poweroff is planned, nothing is written, no memo is kept; alerts stay open', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const alert = w.sb.mackerel.addAlert({ hostId });
    const dry = await w.onReplay({ events: [spot(inst.instanceId)], dryRun: true });
    expect(dry.actions).toMatchObject([
      { kind: 'set-status', hostId, outcome: 'planned' },
      { kind: 'close-alerts', hostId, outcome: 'planned', detail: { alertIds: [alert.id] } },
    ]);
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.sb.eventBridge.events).toEqual([]);
    expect(w.sb.mackerel.openAlertsOf(hostId)).toHaveLength(1);
    const item = (await w.tableItems()).find((i) => pkOf(i) === `INSTANCE#${inst.instanceId}`);
    expect(item?.[`R#${hostId}`]).toBeUndefined();
  });
});

describe('open alerts closed on poweroff', () => {
  it('a stop closes the open alerts of the powered-off host only, listing once (paged with nextId)', async () => {
    const { inst, hostId } = w.instanceWithHost();
    const { hostId: other } = w.instanceWithHost();
    await w.onSweep();
    const mine = [w.sb.mackerel.addAlert({ hostId }), w.sb.mackerel.addAlert({ hostId, type: 'host', monitorId: 'cpu' })];
    const others = [w.sb.mackerel.addAlert({ hostId: other })];
    const serviceAlert = w.sb.mackerel.addAlert({ type: 'service', monitorId: 'svc' });
    // older alerts on two more pages: the listing follows nextId to the end
    for (let i = 0; i < 150; i++) w.sb.mackerel.addAlert({ hostId: other, openedAt: 1_000_000 + i });
    w.sb.ec2.setState(inst.instanceId, 'stopped');

    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'stopped'));

    expect(report.actions).toMatchObject([
      { kind: 'set-status', hostId, outcome: 'done' },
      { kind: 'close-alerts', hostId, outcome: 'done' },
    ]);
    expect(w.sb.mackerel.openAlertsOf(hostId)).toEqual([]);
    for (const a of [...others, serviceAlert]) expect(w.sb.mackerel.alerts.get(a.id)?.closedAt).toBeUndefined();
    const lists = w.sb.mackerel.calls.filter((c) => c.method === 'GET' && c.path === '/api/v0/alerts');
    expect(lists.map((c) => [c.query.limit, c.query.nextId !== undefined])).toEqual([
      [['100'], false],
      [['100'], true],
    ]);
    const closes = w.sb.mackerel.calls.filter((c) => c.path.endsWith('/close'));
    expect(closes.map((c) => c.path).sort()).toEqual(mine.map((a) => `/api/v0/alerts/${a.id}/close`).sort());
    for (const c of closes) expect((c.body as { reason: string }).reason).toContain(inst.instanceId);
    expect(w.sb.eventBridge.events.find((e) => e.detailType === 'Alerts Closed')).toMatchObject({
      detail: { hostId, instanceId: inst.instanceId, alertIds: mine.map((a) => a.id).sort() },
    });
  });

  it('a converged fleet with open alerts lists no alerts and closes none', async () => {
    const { hostId } = w.instanceWithHost();
    w.sb.mackerel.addAlert({ hostId });
    expect((await w.onSweep()).actions).toEqual([]);
    expect((await w.onSweep()).actions).toEqual([]);
    expect(w.sb.mackerel.calls.filter((c) => c.path === '/api/v0/alerts')).toEqual([]);
    expect(w.sb.mackerel.openAlertsOf(hostId)).toHaveLength(1);
  });

  it('a failed alerts listing does not stop the poweroff: the report says the alerts stayed open', async () => {
    const { inst, hostId } = w.instanceWithHost();
    w.sb.mackerel.addAlert({ hostId });
    w.sb.mackerel.inject({ status: 500, pathPrefix: '/api/v0/alerts', times: 100 });
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'stopped'));
    expect(report.actions).toMatchObject([{ kind: 'set-status', hostId, outcome: 'done' }]);
    expect(report.status).toBe('partial');
    expect(report.errors.join()).toMatch(/alerts could not be listed/);
    expect(w.sb.mackerel.openAlertsOf(hostId)).toHaveLength(1);
  });
});
