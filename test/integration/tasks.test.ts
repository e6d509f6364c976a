/**
 * Container hosts end to end: mackerel-container-agent's hosts (sandbox/container-meta.ts, after the agent's
 * source) follow their ECS task, through the task-state-change, sweep and replay handlers, the real
 * @aws-sdk/client-ecs against the fake ECS server, and dynalite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containerAgentHost, ecsTaskStateChangeEvent, type FakeTask } from '../../sandbox/index.js';
import { createWorld, HOUR_MS, type World } from '../support/world.js';


/** the pk of a raw DynamoDB item */
const pkOf = (i: Record<string, unknown>) => String((i.pk as { S?: string } | undefined)?.S ?? '');
let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
  // keeps each sweep's retirements under the circuit breaker's percentage
  w.healthy(10);
});
afterEach(() => w.stop());

/** A running task with its container-agent host, created `ageMs` ago. */
function taskWithHost(over: Parameters<World['sb']['ecs']['addTask']>[0] = {}, ageMs = 2 * HOUR_MS) {
  const task = w.sb.ecs.addTask({ cluster: 'web', ...over });
  const spec = containerAgentHost(task.taskArn, { provider: task.launchType === 'EC2' ? 'ecs' : 'fargate' });
  const host = w.sb.mackerel.addHost({ ...spec, createdAt: Math.floor((Date.now() - ageMs) / 1000) });
  return { task, hostId: host.id };
}

const stoppedEvent = (t: FakeTask, over: { account?: string; lastStatus?: string } = {}) =>
  ecsTaskStateChangeEvent({
    accountId: over.account ?? w.sb.accountId,
    taskArn: t.taskArn,
    clusterArn: t.clusterArn,
    lastStatus: over.lastStatus ?? 'STOPPED',
  });

const isRetired = (id: string) => w.sb.mackerel.hosts.get(id)?.isRetired;

describe('ECS task hosts', () => {
  it('event first: a STOPPED task’s host is retired once; the sweep after it does nothing', async () => {
    const { task, hostId } = taskWithHost();
    const { hostId: running } = taskWithHost();
    w.sb.ecs.stopTask(task.taskArn);

    const report = await w.onTaskStateChange(stoppedEvent(task));

    expect(report.status).toBe('ok');
    expect(report.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done' }]);
    expect(report.events).toMatchObject([{ outcome: 'reconciled', taskArn: task.taskArn }]);
    // found by name (the task id), never by listing the organisation
    const gets = w.sb.mackerel.calls.filter((c) => c.method === 'GET' && c.path === '/api/v0/hosts');
    expect(gets.map((c) => c.query.name)).toEqual([[task.taskArn.split('/').pop()]]);
    expect(w.sb.ecs.callsOf('DescribeTasks')).toHaveLength(1);
    expect(w.sb.ecs.callsOf('DescribeTasks')[0]?.params).toMatchObject({ cluster: 'web', include: ['TAGS'] });
    expect(w.sb.eventBridge.events.find((e) => e.detailType === 'Host Retired')).toMatchObject({
      detail: { hostId, taskArn: task.taskArn, reason: 'task-stopped' },
    });

    const sweep = await w.onSweep();
    expect(sweep.actions).toEqual([]);
    expect(isRetired(running)).toBe(false);
    // the event again (a redelivery): nothing left to do
    const again = await w.onTaskStateChange(stoppedEvent(task));
    expect(again.actions).toEqual([]);
    expect(w.retireCallsFor(hostId)).toBe(1);
  });

  it('sweep first: the sweep retires the STOPPED task’s host, the late event finds nothing to do', async () => {
    const { task, hostId } = taskWithHost();
    w.sb.ecs.stopTask(task.taskArn);

    const sweep = await w.onSweep();
    expect(sweep.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done', detail: { retireReason: 'task-stopped' } }]);

    const late = await w.onTaskStateChange(stoppedEvent(task));
    expect(late.actions).toEqual([]);
    expect(w.retireCallsFor(hostId)).toBe(1);
    const converged = await w.onSweep();
    expect(converged.actions).toEqual([]);
  });

  it('a task of another account is foreign: never described, never touched, listed as foreign', async () => {
    const { task, hostId } = taskWithHost({ account: '210987654321' });
    w.sb.ecs.stopTask(task.taskArn);

    const sweep = await w.onSweep();
    expect(sweep.actions).toEqual([]);
    expect(sweep.foreignHostIds).toContain(hostId);
    expect(w.sb.ecs.callsOf('DescribeTasks')).toEqual([]);
    // its event (from that account) proves nothing either
    const ev = await w.onTaskStateChange(stoppedEvent(task, { account: '210987654321' }));
    expect(ev.events).toMatchObject([{ outcome: 'foreign-account' }]);
    expect(isRetired(hostId)).toBe(false);
  });

  it('MISSING: a young host is left alone, an old one is retired', async () => {
    const young = taskWithHost({}, 10 * 60 * 1000);
    const old = taskWithHost({}, 2 * HOUR_MS);
    w.sb.ecs.forgetTask(young.task.taskArn);
    w.sb.ecs.forgetTask(old.task.taskArn);

    const sweep = await w.onSweep();

    expect(sweep.actions).toMatchObject([{ kind: 'retire', hostId: old.hostId, outcome: 'done', detail: { retireReason: 'task-missing' } }]);
    expect(isRetired(young.hostId)).toBe(false);
    // both ARNs of one cluster in one DescribeTasks call
    expect(w.sb.ecs.callsOf('DescribeTasks')).toHaveLength(1);
  });

  it('a failed DescribeTasks is not MISSING: nothing is retired, the tasks are reported unknown', async () => {
    const { task, hostId } = taskWithHost();
    w.sb.ecs.forgetTask(task.taskArn);
    w.sb.ecs.inject({ action: 'DescribeTasks', status: 400, type: 'AccessDeniedException', times: 1 });

    const sweep = await w.onSweep();

    expect(sweep.actions).toEqual([]);
    expect(sweep.unknownTaskArns).toEqual([task.taskArn]);
    expect(isRetired(hostId)).toBe(false);
    // the event path too: unknown, and Reconcile Failed says so
    w.sb.ecs.inject({ action: 'DescribeTasks', status: 400, type: 'AccessDeniedException', times: 1 });
    const ev = await w.onTaskStateChange(stoppedEvent(task));
    expect(ev.events).toMatchObject([{ outcome: 'unknown' }]);
    expect(w.sb.eventBridge.events.some((e) => e.detailType === 'Reconcile Failed')).toBe(true);
    expect(isRetired(hostId)).toBe(false);
  });

  it('opt-out: a task tagged mackerel-reconciler:ignore=true keeps its host', async () => {
    const { task, hostId } = taskWithHost({ tags: { 'mackerel-reconciler:ignore': 'true' } });
    w.sb.ecs.stopTask(task.taskArn);

    const sweep = await w.onSweep();
    expect(sweep.actions).toEqual([]);
    expect(sweep.ignoredTaskArns).toEqual([task.taskArn]);
    const ev = await w.onTaskStateChange(stoppedEvent(task));
    expect(ev.actions).toEqual([]);
    expect(isRetired(hostId)).toBe(false);
  });

  it('a RUNNING task event is ignored with a clear outcome; its host is untouched', async () => {
    const { task, hostId } = taskWithHost();
    const ev = await w.onTaskStateChange(stoppedEvent(task, { lastStatus: 'RUNNING' }));
    expect(ev.events).toMatchObject([{ outcome: 'ignored', note: expect.stringMatching(/only STOPPED/) }]);
    expect(w.sb.ecs.calls).toEqual([]);
    expect(isRetired(hostId)).toBe(false);
  });

  it('dry run (replay): plans the retirement, writes nothing; the real run after it retires', async () => {
    const { task, hostId } = taskWithHost();
    w.sb.ecs.stopTask(task.taskArn);

    const dry = await w.onReplay({ events: [stoppedEvent(task)], dryRun: true });
    expect(dry.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'planned' }]);
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.sb.eventBridge.events).toEqual([]);
    expect((await w.tableItems()).filter((i) => pkOf(i).startsWith('TASK#'))).toEqual([]);

    const real = await w.onReplay({ events: [stoppedEvent(task)] });
    expect(real.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done' }]);
    const items = (await w.tableItems()).filter((i) => pkOf(i).startsWith('TASK#'));
    expect(items.map((i) => pkOf(i))).toEqual([`TASK#${task.taskArn}`]);
    expect(items[0]?.expiresAt).toBeDefined();
  });

  it('replay of mixed events (an EC2 state change and an ECS task): one report with both', async () => {
    const { task, hostId } = taskWithHost();
    const { inst, hostId: instHost } = w.instanceWithHost();
    await w.onSweep();
    w.sb.ecs.stopTask(task.taskArn);
    w.sb.ec2.setState(inst.instanceId, 'terminated');

    const report = await w.onReplay({ events: [w.stateChangeEvent(inst.instanceId, 'terminated'), stoppedEvent(task)] });

    expect(report.actions.map((a) => [a.kind, a.hostId, a.outcome])).toEqual(
      expect.arrayContaining([
        ['retire', hostId, 'done'],
        ['retire', instHost, 'done'],
      ]),
    );
    expect(report.events?.map((e) => e.outcome)).toEqual(['reconciled', 'reconciled']);
    expect(report.counts.done).toBe(report.actions.filter((a) => a.outcome === 'done').length);
  });

  it('the sweep cuts DescribeTasks at 100 ARNs per call, per cluster', async () => {
    for (let i = 0; i < 101; i++) taskWithHost({ cluster: 'batch' });
    taskWithHost({ cluster: 'web' });
    const sweep = await w.onSweep();
    expect(sweep.actions).toEqual([]);
    const calls = w.sb.ecs.callsOf('DescribeTasks');
    expect(calls.map((c) => [c.params.cluster, (c.params.tasks as string[]).length]).sort()).toEqual([
      ['batch', 1],
      ['batch', 100],
      ['web', 1],
    ]);
  });
});
