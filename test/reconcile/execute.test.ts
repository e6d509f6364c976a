/**
 * The executor on the in-memory ledger and fake ports: claim → effect → commit → publish, one behaviour per
 * test. What the effectors send is checked in the fakes' call log; what the run leaves behind in the ledger.
 */
import { describe, expect, it } from 'vitest';
import { DependencyPending, RecheckBlocked, SimulatedCrash } from '../../shared/errors.js';
import { EFFECTORS, KIND_ORDER } from '../../shared/reconcile/effectors/index.js';
import { type ExecuteOptions, execute } from '../../shared/reconcile/execute.js';
import type { Finding } from '../../shared/reconcile/model.js';
import type {
  ActionKind,
  EnableImdsAction,
  ForgetMemoAction,
  MergeRolesAction,
  ReportCheckAction,
  RetireAction,
  SetStatusAction,
} from '../../shared/reconcile/types.js';
import { MemoryLedger } from '../../shared/state/memory-ledger.js';
import { planOf } from '../support/builders.js';
import { fakePorts } from '../support/fakes.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const NOW_S = NOW / 1000;
const LEASE = 16 * 60_000;

const finding = (hostId: string): Finding => ({ detailType: 'Host Retired', detail: { hostId } });

const retire = (hostId: string, instanceId = 'i-1', over: Partial<RetireAction> = {}): RetireAction => ({
  kind: 'retire',
  key: `retire#${hostId}`,
  instanceId,
  instanceState: 'terminated',
  region: 'ap-northeast-1',
  hostId,
  hostName: `name-${hostId}`,
  retireReason: 'instance-terminated',
  reason: 'terminated',
  findings: [finding(hostId)],
  ...over,
});

const setStatus = (hostId: string, to: SetStatusAction['to'], over: Partial<SetStatusAction> = {}): SetStatusAction => ({
  kind: 'set-status',
  key: `status#${hostId}#${to}#i-1@1`,
  instanceId: 'i-1',
  hostId,
  hostName: hostId,
  from: 'working',
  to,
  remember: to === 'poweroff' ? 'working' : undefined,
  restoring: to !== 'poweroff',
  reason: 'stopped',
  findings: [],
  ...over,
});

const mergeRoles = (hostId: string): MergeRolesAction => ({
  kind: 'merge-roles',
  key: `roles#${hostId}#abc`,
  instanceId: 'i-1',
  hostId,
  roleFullnames: ['shop:web', 'shop:batch'],
  duplicateHostIds: ['dup'],
  reason: 'merge',
  findings: [],
});

const check = (hostId: string, over: Partial<ReportCheckAction> = {}): ReportCheckAction => ({
  kind: 'report-check',
  key: `check#imds-disabled#${hostId}#WARNING#0`,
  instanceId: 'i-1',
  hostId,
  name: 'imds-disabled',
  status: 'WARNING',
  message: 'IMDS is disabled',
  reason: 'IMDS is disabled',
  findings: [],
  ...over,
});

const enableImds = (): EnableImdsAction => ({
  kind: 'enable-imds',
  key: 'imds#i-1@1',
  instanceId: 'i-1',
  region: 'ap-northeast-1',
  reason: 'remediate',
  findings: [],
});

const forget = (hostId: string, memo: ForgetMemoAction['memo'], dependsOn?: string): ForgetMemoAction => ({
  kind: 'forget-memo',
  key: `forget#${memo}#${hostId}`,
  instanceId: 'i-1',
  hostId,
  memo,
  reason: 'no longer needed',
  findings: [],
  ...(dependsOn ? { dependsOn } : {}),
});

const options = (over: Partial<ExecuteOptions> = {}): ExecuteOptions => ({
  runId: 'run-1',
  dryRun: false,
  clock: () => NOW,
  terminated: new Set(['i-1', 'i-2']),
  ...over,
});

const outcomes = (res: { results: { key: string; outcome: string }[] }) =>
  Object.fromEntries(res.results.map((r) => [r.key, r.outcome]));

describe('the effector registry', () => {
  it('has one effector for every action kind, registered under its kind, in the order a plan lists them', () => {
    const kinds: ActionKind[] = [
      'merge-roles',
      'set-status',
      'close-alerts',
      'report-check',
      'enable-imds',
      'retire',
      'forget-memo',
      'am-silence',
      'am-expire',
      'am-alert',
      'repair-agent',
      'remember',
    ];
    expect(KIND_ORDER).toEqual(kinds);
    for (const kind of kinds) expect(EFFECTORS[kind].kind).toBe(kind);
  });
});

describe('execute', () => {
  it('a dry run reports every action planned and touches no port', async () => {
    const ports = fakePorts();
    const res = await execute(planOf([retire('h1'), setStatus('h2', 'poweroff')]), ports, options({ dryRun: true }));
    expect(res.results.map((r) => r.outcome)).toEqual(['planned', 'planned']);
    expect(res.findings).toEqual({ published: 0, failed: 0, planned: [finding('h1')] });
    expect(ports.calls).toEqual([]);
    expect(ports.ledger.stats.requests).toBe(0);
  });

  it('runs the effectors in their registered order, each kind in its own batches', async () => {
    const ports = fakePorts();
    const plan = planOf([
      retire('h5'),
      forget('h5', 'imds-disabled'),
      enableImds(),
      check('h4'),
      setStatus('h2', 'poweroff'),
      setStatus('h3', 'working'),
      mergeRoles('h1'),
    ]);
    const res = await execute(plan, ports, options());
    expect(res.results.every((r) => r.outcome === 'done')).toBe(true);
    expect(ports.calls.map((c) => c.method)).toEqual([
      'updateRoleFullnames',
      'updateHostStatuses',
      'updateHostStatuses',
      'postCheckReports',
      'enableMetadataEndpoint',
      'retireHosts',
      'publish',
    ]);
    expect(ports.calls[1]?.args).toEqual([['h2'], 'poweroff']);
    expect(ports.calls[2]?.args).toEqual([['h3'], 'working']);
  });

  it('a poweroff’s restore memo is written with its claim, before the status changes', async () => {
    const ports = fakePorts();
    let memoAtCall: unknown;
    ports.faults.push({
      method: 'updateHostStatuses',
      error: new Error('unused'),
      when: () => {
        memoAtCall = ports.ledger.item('i-1')?.restores;
        return false;
      },
    });
    await execute(planOf([setStatus('h1', 'poweroff')]), ports, options());
    expect(memoAtCall).toEqual([{ instanceId: 'i-1', hostId: 'h1', status: 'working', setAt: NOW_S }]);
  });

  it('a failed bulk batch fails only its own actions, with the error’s name; the next run performs only those', async () => {
    const ports = fakePorts();
    const hosts = Array.from({ length: 35 }, (_, i) => `h${String(i).padStart(2, '0')}`);
    const boom = Object.assign(new Error('answered 500'), { name: 'MackerelApiError' });
    ports.faults.push({ method: 'updateHostStatuses', error: boom, when: ([ids]) => (ids as string[]).includes('h30') });
    const plan = planOf(hosts.map((h) => setStatus(h, 'poweroff')));

    const first = await execute(plan, ports, options());
    const failed = first.results.filter((r) => r.outcome === 'failed');
    expect(failed.map((r) => r.hostId)).toEqual(hosts.slice(30));
    expect(failed[0]).toMatchObject({ error: 'answered 500', errorName: 'MackerelApiError' });
    expect(first.results.filter((r) => r.outcome === 'done')).toHaveLength(30);

    ports.faults.length = 0;
    const second = await execute(plan, ports, options({ runId: 'run-2' }));
    expect(second.results.filter((r) => r.outcome === 'done').map((r) => r.hostId)).toEqual(hosts.slice(30));
    expect(second.results.filter((r) => r.outcome === 'already-done')).toHaveLength(30);
  });

  it('a failure publishes Reconcile Failed; only done actions publish their findings', async () => {
    const ports = fakePorts();
    ports.faults.push({ method: 'retireHosts', error: new Error('down'), when: ([ids]) => (ids as string[]).includes('h2') });
    const res = await execute(planOf([retire('h1'), retire('h2', 'i-2')], [finding('plan')]), ports, options());
    expect(outcomes(res)).toEqual({ 'retire#h1': 'failed', 'retire#h2': 'failed' });
    expect(ports.findings.published.map((f) => f.detailType)).toEqual(['Host Retired', 'Reconcile Failed']);
    expect(ports.findings.published[1]?.detail).toMatchObject({
      runId: 'run-1',
      count: 2,
      failed: [
        { key: 'retire#h1', instanceId: 'i-1', hostId: 'h1', error: 'down' },
        { key: 'retire#h2', instanceId: 'i-2', hostId: 'h2', error: 'down' },
      ],
    });
  });

  describe('retirements', () => {
    it('are re-checked against EC2 unless EC2 said terminated in this run; an instance running again blocks them', async () => {
      const ports = fakePorts();
      ports.fleet.instances.set('i-3', {
        instanceId: 'i-3',
        region: 'ap-northeast-1',
        state: 'running',
        launchTime: NOW,
        tags: {},
        httpEndpoint: 'enabled',
      });
      const plan = planOf([
        retire('h1'),
        retire('h3', 'i-3', { retireReason: 'instance-gone' }),
        retire('h4', 'i-4', { retireReason: 'instance-gone' }),
        retire('dup', 'i-3', { retireReason: 'duplicate-stale' }),
      ]);
      const res = await execute(plan, ports, options());
      expect(outcomes(res)).toEqual({ 'retire#h1': 'done', 'retire#h3': 'blocked', 'retire#h4': 'done', 'retire#dup': 'done' });
      expect(res.results[1]).toMatchObject({ errorName: 'RecheckBlocked', error: 'instance i-3 is running again' });
      expect(ports.calls.filter((c) => c.port !== 'findings').map((c) => [c.method, c.args])).toEqual([
        ['describe', ['ap-northeast-1', ['i-3', 'i-4']]],
        ['retireHosts', [['h1', 'dup', 'h4']]],
      ]);
    });

    it('a re-check that fails blocks its region’s retirements and keeps EC2’s error as the cause', async () => {
      const ports = fakePorts();
      const throttled = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
      ports.faults.push({ method: 'describe', error: throttled });
      const res = await execute(planOf([retire('h1', 'i-9', { retireReason: 'instance-gone' })]), ports, options());
      expect(res.results).toMatchObject([
        { outcome: 'blocked', errorName: 'RecheckBlocked', error: 're-check of ap-northeast-1 failed: Rate exceeded' },
      ]);
      expect(ports.calls.map((c) => c.method)).not.toContain('retireHosts');
    });

    it('a duplicate’s retirement waits for its role merge: deferred while the merge fails, and claimed again later', async () => {
      const ports = fakePorts();
      ports.faults.push({ method: 'updateRoleFullnames', error: new Error('403') });
      const merge = mergeRoles('canonical');
      const plan = planOf([merge, retire('dup', 'i-1', { retireReason: 'duplicate-stale', dependsOn: merge.key })]);
      const first = await execute(plan, ports, options());
      expect(first.results).toMatchObject([
        { outcome: 'failed', error: '403' },
        { outcome: 'deferred', errorName: 'DependencyPending', error: `waiting for ${merge.key}` },
      ]);
      expect(ports.calls.map((c) => c.method)).not.toContain('retireHosts');

      ports.faults.length = 0;
      const second = await execute(plan, ports, options({ runId: 'run-2' }));
      expect(second.results.map((r) => r.outcome)).toEqual(['done', 'done']);
    });
  });

  describe('memos', () => {
    it('a done restore and a done forget-memo forget their memos; a check report is remembered with its time', async () => {
      const ports = fakePorts();
      await execute(planOf([setStatus('h1', 'poweroff'), setStatus('h2', 'poweroff')]), ports, options());
      const later = NOW + 60_000;
      const plan = planOf([setStatus('h1', 'working'), check('h3', { message: 'x'.repeat(2000) }), forget('h2', 'restore')]);
      await execute(plan, ports, options({ runId: 'run-2', clock: () => later }));
      // (no sighting was recorded in these runs, so the item is read directly: a load lists only sighted instances)
      const state = ports.ledger.item('i-1');
      expect(state?.restores).toEqual([]);
      expect(state?.checks).toEqual([
        { instanceId: 'i-1', hostId: 'h3', name: 'imds-disabled', status: 'WARNING', changedAt: later / 1000 },
      ]);
      const report = (ports.calls.find((c) => c.method === 'postCheckReports')?.args[0] as { message: string; occurredAt: number }[])[0];
      expect(report?.occurredAt).toBe(later / 1000);
      expect(report?.message).toHaveLength(1024);
    });

    it('a memo waiting for its host’s retirement stays while the retirement fails', async () => {
      const ports = fakePorts();
      await execute(planOf([setStatus('h1', 'poweroff')]), ports, options());
      ports.faults.push({ method: 'retireHosts', error: new Error('500') });
      const r = retire('h1');
      const res = await execute(planOf([r, forget('h1', 'restore', r.key)]), ports, options({ runId: 'run-2' }));
      expect(res.results.map((x) => [x.outcome, x.errorName])).toEqual([
        ['failed', 'Error'],
        ['deferred', 'DependencyPending'],
      ]);
      expect(ports.ledger.item('i-1')?.restores).toHaveLength(1);
    });
  });

  describe('the ledger', () => {
    it('an action another run holds is in progress; one another run did is already done', async () => {
      const ledger = new MemoryLedger();
      await ledger.begin({ instanceId: 'i-1', claims: ['retire#h1', 'retire#h2'], restores: [] }, 'other', NOW, LEASE);
      await ledger.finish(
        { instanceId: 'i-1', done: ['retire#h2'], released: [], checks: [], forgetRestores: [], forgetChecks: [], events: [] },
        'other',
        NOW,
      );
      const ports = fakePorts(ledger);
      const res = await execute(planOf([retire('h1'), retire('h2'), retire('h3')]), ports, options());
      expect(outcomes(res)).toEqual({ 'retire#h1': 'in-progress', 'retire#h2': 'already-done', 'retire#h3': 'done' });
      expect(ports.calls.find((c) => c.method === 'retireHosts')?.args).toEqual([['h3']]);
    });

    it('a run killed after its claims does nothing; its claims hold until the lease runs out', async () => {
      const ports = fakePorts();
      const plan = planOf([retire('h1')]);
      await expect(execute(plan, ports, options({ crashAfterClaim: true }))).rejects.toBeInstanceOf(SimulatedCrash);
      expect(ports.calls).toEqual([]);
      expect(outcomes(await execute(plan, ports, options({ runId: 'run-2' })))).toEqual({ 'retire#h1': 'in-progress' });
      const later = await execute(plan, ports, options({ runId: 'run-3', clock: () => NOW + LEASE + 1 }));
      expect(outcomes(later)).toEqual({ 'retire#h1': 'done' });
    });

    it('performs only the confirmed actions; the rest are not claimed', async () => {
      const ports = fakePorts();
      const plan = planOf([retire('h1'), retire('h2')]);
      const res = await execute(plan, ports, options({ only: new Set(['retire#h1']) }));
      expect(outcomes(res)).toEqual({ 'retire#h1': 'done', 'retire#h2': 'not-confirmed' });
      expect(outcomes(await execute(plan, ports, options({ runId: 'run-2' })))).toEqual({
        'retire#h1': 'already-done',
        'retire#h2': 'done',
      });
    });

    it('marks an event handled only when none of its instance’s actions failed', async () => {
      const ports = fakePorts();
      ports.faults.push({ method: 'retireHosts', error: new Error('500') });
      const plan = planOf([setStatus('h1', 'poweroff'), retire('h2', 'i-2')]);
      const res = await execute(plan, ports, options({ events: new Map([['i-1', ['ev-1']], ['i-2', ['ev-2']]]) }));
      expect(res.results.map((r) => r.outcome)).toEqual(['done', 'failed']);
      expect(ports.ledger.item('i-1')?.events.has('ev-1')).toBe(true);
      expect(ports.ledger.item('i-2')?.events.has('ev-2')).toBe(false);
    });
  });
});

describe('typed errors', () => {
  it('keep their names and causes', () => {
    const cause = new Error('throttled');
    expect(new RecheckBlocked('held', { cause })).toMatchObject({ name: 'RecheckBlocked', cause });
    expect(new DependencyPending('roles#h1')).toMatchObject({ name: 'DependencyPending', message: 'waiting for roles#h1' });
  });
});
