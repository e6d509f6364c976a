/**
 * The Alertmanager backend end to end: the real handlers, real HTTP, the sandbox's EC2, Mackerel and dynalite,
 * and Alertmanager — the sandbox fake and, where installed (always in CI), the real Alertmanager 0.25.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spotInterruptionEvent } from '../../sandbox/index.js';
import { AlertmanagerClient } from '../../shared/alertmanager/client.js';
import { runSweep } from '../../shared/reconcile/run.js';
import { runtimeFor } from '../../shared/runtime.js';
import { realAlertmanagerAvailable, startRealAlertmanager, type RealAlertmanager } from '../support/alertmanager.js';
import { createWorld, HOUR_MS, lambdaContext, type World } from '../support/world.js';

type RawSilence = {
  id: string;
  status: { state: string };
  createdBy: string;
  comment: string;
  endsAt: string;
  matchers: { name: string; value: string; isEqual: boolean; isRegex: boolean }[];
};

const backends = [
  { name: 'sandbox fake', real: false },
  ...(realAlertmanagerAvailable() ? [{ name: 'real Alertmanager 0.25', real: true }] : []),
];

describe.each(backends)('Alertmanager backend through the handlers ($name)', ({ real }) => {
  let w: World;
  let realAm: RealAlertmanager | undefined;
  let amUrl: string;
  beforeEach(async () => {
    w = await createWorld();
    console.log(`seed ${w.seed}`);
    realAm = real ? await startRealAlertmanager() : undefined;
    amUrl = realAm?.url ?? w.sb.alertmanager.url;
    w.setEnv({ ALERTMANAGER_URL: amUrl });
  });
  afterEach(async () => {
    await w.stop();
    await realAm?.stop();
  });

  const silences = async (): Promise<RawSilence[]> =>
    (await (await fetch(`${amUrl}/api/v2/silences`)).json()) as RawSilence[];
  const live = async (instanceId: string) =>
    (await silences()).filter((s) => s.status.state !== 'expired' && s.matchers.some((m) => m.value === instanceId));
  const firing = async (instanceId: string) => {
    const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent(`instance_id="${instanceId}"`)}`);
    return ((await res.json()) as { labels: Record<string, string> }[]).map((a) => a.labels.alertname);
  };
  const amActions = (r: { actions: { backend?: string }[] }) => r.actions.filter((a) => a.backend === 'alertmanager');

  it('stopped: one silence on instance_id, created by mackerel-reconciler with the reason, 24 h ahead; converged after', async () => {
    w.healthy(5);
    const { inst, hostId } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const before = Date.now();

    const first = await w.onSweep();

    const [s, ...more] = await live(inst.instanceId);
    expect(more).toEqual([]);
    expect(s).toMatchObject({
      createdBy: 'mackerel-reconciler',
      matchers: [{ name: 'instance_id', value: inst.instanceId, isEqual: true, isRegex: false }],
    });
    expect(s?.comment).toContain(`instance ${inst.instanceId} is stopped`);
    expect(Date.parse(s?.endsAt ?? '') - before).toBeGreaterThan(24 * HOUR_MS - 60_000);
    expect(w.sb.mackerel.hosts.get(hostId)?.status).toBe('poweroff');
    expect(amActions(first)).toMatchObject([{ kind: 'am-silence', outcome: 'done', instanceId: inst.instanceId }]);
    expect(first.backends).toMatchObject({ alertmanager: { done: 1, failed: 0 }, mackerel: { done: 1 } });

    const again = await w.onSweep();
    expect(again.actions).toEqual([]);
    expect(await live(inst.instanceId)).toHaveLength(1);
  });

  it('running again: our silence is expired; a silence a person made is untouched', async () => {
    const { inst } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    await w.onSweep();
    const person = await fetch(`${amUrl}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'instance_id', value: inst.instanceId, isEqual: true, isRegex: false }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 2 * HOUR_MS).toISOString(),
        createdBy: 'alice',
        comment: 'disk swap',
      }),
    });
    const personId = ((await person.json()) as { silenceID: string }).silenceID;
    w.sb.ec2.setState(inst.instanceId, 'running');

    const report = await w.onSweep();

    expect(amActions(report)).toMatchObject([{ kind: 'am-expire', outcome: 'done' }]);
    const left = await live(inst.instanceId);
    expect(left.map((s) => s.id)).toEqual([personId]);
    expect((await w.onSweep()).actions).toEqual([]);
  });

  it('a silence of ours with less than 12 h left is extended in place to 24 h', async () => {
    const { inst } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    const client = new AlertmanagerClient({ url: amUrl, instanceLabel: 'instance_id' });
    await client.putSilences([{ instanceId: inst.instanceId, endsAt: Date.now() + 6 * HOUR_MS, comment: 'older run' }]);
    const [old] = await live(inst.instanceId);

    const report = await w.onSweep();

    expect(amActions(report)).toMatchObject([{ kind: 'am-silence', outcome: 'done', detail: { silenceId: old?.id } }]);
    const [now, ...more] = await live(inst.instanceId);
    expect(more).toEqual([]);
    expect(now?.id).toBe(old?.id);
    expect(Date.parse(now?.endsAt ?? '') - Date.now()).toBeGreaterThan(23 * HOUR_MS);
  });

  it('terminated: a silence of 30 minutes while service discovery drops the instance', async () => {
    const { inst } = w.instanceWithHost();
    await w.onSweep();
    w.sb.ec2.setState(inst.instanceId, 'terminated');

    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'terminated'));

    expect(amActions(report)).toMatchObject([{ kind: 'am-silence', outcome: 'done' }]);
    const [s] = await live(inst.instanceId);
    const left = Date.parse(s?.endsAt ?? '') - Date.now();
    expect(left).toBeGreaterThan(25 * 60_000);
    expect(left).toBeLessThanOrEqual(30 * 60_000);
    expect(s?.comment).toContain('terminated');
  });

  it('IMDS disabled: an ImdsDisabled alert is posted each sweep and resolved once IMDS is on', async () => {
    const { inst } = w.instanceWithHost({ httpEndpoint: 'disabled' });

    const first = await w.onSweep();

    expect(amActions(first)).toMatchObject([{ kind: 'am-alert', outcome: 'done', detail: { firing: true } }]);
    expect(await firing(inst.instanceId)).toEqual(['ImdsDisabled']);
    inst.httpEndpoint = 'enabled';
    const fixed = await w.onSweep();
    expect(amActions(fixed)).toMatchObject([{ kind: 'am-alert', outcome: 'done', detail: { firing: false } }]);
    expect(await firing(inst.instanceId)).toEqual([]);
    expect(amActions(await w.onSweep())).toEqual([]);
  });

  it('concurrent runs (two sweeps and an event at once) leave one silence per instance', async () => {
    const ids = [0, 1, 2].map(() => w.instanceWithHost().inst.instanceId);
    w.healthy(10);
    await w.onSweep();
    for (const id of ids) w.sb.ec2.setState(id, 'stopped');

    await Promise.all([w.onSweep(), w.onSweep(), w.onStateChange(w.stateChangeEvent(ids[0] as string, 'stopped'))]);

    for (const id of ids) expect(await live(id)).toHaveLength(1);
  });

  it('opted out (mackerel-reconciler:ignore=true) or foreign: no silence', async () => {
    const { inst } = w.instanceWithHost({ tags: { 'mackerel-reconciler:ignore': 'true' } });
    w.sb.ec2.setState(inst.instanceId, 'stopped');

    const report = await w.onSweep();

    expect(amActions(report)).toEqual([]);
    expect(await silences()).toEqual([]);
  });

  it('dry run writes nothing to Alertmanager', async () => {
    const { inst } = w.instanceWithHost({ httpEndpoint: 'disabled' });
    const { inst: stopped } = w.instanceWithHost();
    w.sb.ec2.setState(stopped.instanceId, 'stopped');
    w.setEnv({ DRY_RUN: 'true' });

    const report = await w.onSweep();

    expect(amActions(report).map((a) => (a as { outcome?: string }).outcome)).toEqual(['planned', 'planned']);
    expect(await silences()).toEqual([]);
    expect(await firing(inst.instanceId)).toEqual([]);
    if (!real) expect(w.sb.alertmanager.calls.filter((c) => c.method !== 'GET')).toEqual([]);
  });

  it('Alertmanager alone (MACKEREL_APIKEY unset): no Mackerel call, instances still observed and recorded', async () => {
    const { inst } = w.instanceWithHost();
    w.sb.ec2.setState(inst.instanceId, 'stopped');
    w.setEnv({ MACKEREL_APIKEY: undefined, MACKEREL_APIBASE: undefined });

    const report = await w.onSweep();

    expect(w.sb.mackerel.calls).toEqual([]);
    expect(report.counts.hosts).toBe(0);
    expect(report.counts.instances).toBe(1);
    expect(report.backends).toEqual({ alertmanager: { planned: 1, done: 1, failed: 0 } });
    expect(await live(inst.instanceId)).toHaveLength(1);
    const items = await w.tableItems();
    expect(items.some((i) => (i.pk as { S?: string })?.S === `INSTANCE#${inst.instanceId}`)).toBe(true);
    w.sb.ec2.setState(inst.instanceId, 'running');
    const back = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'running'));
    expect(back.actions).toMatchObject([{ kind: 'am-expire', outcome: 'done', backend: 'alertmanager' }]);
    expect(await live(inst.instanceId)).toEqual([]);
  });
  it.each([
    ['beside Mackerel', {}],
    ['Alertmanager alone', { MACKEREL_APIKEY: undefined, MACKEREL_APIBASE: undefined }],
  ] as const)(
    'terminating (Spot warning, %s): silenced at once, held while the instance still runs, lifted after TERMINATING_HOLD_MINUTES',
    async (_name, env) => {
      const { inst } = w.instanceWithHost();
      await w.onSweep();
      w.setEnv({ ...env });
      const sweepAt = async (minutes: number) =>
        runSweep(
          await runtimeFor(lambdaContext(w.sb.functionArn('sweep')), { clock: () => Date.now() + minutes * 60_000 }),
          { trigger: 'sweep' },
        );

      const warned = await w.onStateChange(spotInterruptionEvent({ accountId: w.sb.accountId, instanceId: inst.instanceId }));

      expect(amActions(warned)).toMatchObject([{ kind: 'am-silence', outcome: 'done' }]);
      const [s] = await live(inst.instanceId);
      expect(s?.comment).toContain('is being terminated');
      // EC2 still says running: within the hold the silence stays, after it the silence is lifted.
      expect(amActions(await sweepAt(30))).toEqual([]);
      expect(await live(inst.instanceId)).toHaveLength(1);
      expect(amActions(await sweepAt(61))).toMatchObject([{ kind: 'am-expire', outcome: 'done' }]);
      expect(await live(inst.instanceId)).toEqual([]);
    },
  );
});
