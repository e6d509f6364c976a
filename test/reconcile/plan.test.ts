/** One row per rule of docs/design.md's planner table and safety section, named for the rule. */
import { describe, expect, it } from 'vitest';
import { plan } from '../../shared/reconcile/plan.js';
import { closeAlertsFor } from '../../shared/reconcile/alerts.js';
import type { Host, Instance, Task } from '../../shared/reconcile/model.js';
import { isTerminating } from '../../shared/reconcile/terminating.js';
import type { Action, CheckMemo, Observation, Policy, TaskObservation } from '../../shared/reconcile/types.js';
import {
  agentHost,
  asTerminated,
  checkMemo,
  ciHost,
  HOUR,
  host,
  instance,
  NOW,
  NOW_S,
  observation,
  policy,
  REGION,
  record,
  restoreMemo,
} from '../support/builders.js';
import { applyPlan } from '../support/apply-plan.js';

const brief = (a: Action) => {
  switch (a.kind) {
    case 'retire':
      return `retire ${a.hostId} (${a.retireReason})`;
    case 'set-status':
      return `status ${a.hostId} ${a.from}->${a.to}`;
    case 'merge-roles':
      return `roles ${a.hostId} ${a.roleFullnames.join(',')}`;
    case 'report-check':
      return `check ${a.name} ${a.hostId} ${a.status}`;
    case 'enable-imds':
      return `enable-imds ${a.instanceId}`;
    case 'forget-memo':
      return `forget ${a.memo} ${a.hostId}`;
    case 'repair-agent':
      return `repair-agent ${a.instanceId} (${a.cause})`;
    case 'remember':
      return `remember ${a.memo.name} ${a.instanceId} ${a.memo.status}`;
    case 'close-alerts':
      return `close-alerts ${a.hostId} ${a.alertIds.join(',')}`;
  }
};
// --- ECS tasks and early signals (#12) ---
const ACCOUNT = '123456789012';
const taskArn = (n: number, account = ACCOUNT) => `arn:aws:ecs:${REGION}:${account}:task/web/${String(n).padStart(32, '0')}`;
/** the host mackerel-container-agent registers for a task (platform/ecs/spec.go: named by the task id) */
const containerHost = (id: string, arn: string, over: Partial<Host> = {}) =>
  host(id, {
    name: arn.split('/').pop() as string,
    meta: { cloud: { provider: 'fargate', metadata: { cluster: 'web', task: arn.split('/').pop(), task_arn: arn } } },
    ...over,
  });
const ecsTask = (arn: string, lastStatus: string, tags: Record<string, string> = {}): Task => ({
  taskArn: arn,
  clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/web`,
  region: REGION,
  lastStatus,
  tags,
});
const tasksSeen = (over: Partial<TaskObservation> = {}): TaskObservation => ({
  accountId: ACCOUNT,
  mode: 'fleet',
  found: [],
  missing: [],
  unknown: [],
  ...over,
});


interface Row {
  rule: string;
  obs: () => Observation;
  policy?: Partial<Policy>;
  expect: string[];
  findings?: string[];
}

const running = instance('i-0000000000000001a');
const terminated = instance('i-0000000000000002b', { state: 'terminated' });
const stopped = instance('i-0000000000000003c', { state: 'stopped' });
const imdsOff = instance('i-0000000000000004d', { httpEndpoint: 'disabled' });
const ignoredTerminated = instance('i-0000000000000005e', {
  state: 'terminated',
  tags: { 'mackerel-reconciler:ignore': 'true' },
});
const vanished = instance('i-0000000000000006f', { state: 'running' });
const v2Only = instance('i-00000000000000070', { httpTokens: 'required', httpPutResponseHopLimit: 2 });
const young = instance('i-00000000000000071', { launchTime: NOW - 5 * 60_000 });
const windows = instance('i-00000000000000072', { platform: 'windows' });
const AGENT = { meta: { 'agent-version': '0.84.0' } };
const managed = (inst: Instance, platformType = 'Linux') => ({
  managed: { [inst.instanceId]: { instanceId: inst.instanceId, pingStatus: 'Online', platformType } },
  asked: [inst.instanceId],
  commands: {},
  retiredHostIds: {},
});
const withMemo = (memo: CheckMemo, over: Partial<CheckMemo> = {}): CheckMemo => ({ ...memo, ...over });
/** A running instance whose recorded host h9 was retired (observe found it so). */
const retiredObs = (inst: Instance, over: Partial<Observation['health'] & object> = {}, checks: CheckMemo[] = []) =>
  observation({
    instances: [inst],
    hosts: [],
    state: { records: [record(inst, { linkedHostIds: ['h9'] })], restores: [], checks },
    health: { ...managed(inst), ...over, retiredHostIds: { [inst.instanceId]: ['h9'] } },
  });
/** A running instance with its canonical host and a duplicate that still reports, warned an hour ago. */
const reportingDupObs = (inst: Instance, over: Partial<Observation> = {}) =>
  observation({
    instances: [inst],
    hosts: [ciHost('h1', inst, AGENT), agentHost('h2', inst, { ...AGENT, createdAt: NOW_S - 2 * HOUR })],
    latestMetricTime: { h1: NOW_S - 60, h2: NOW_S - 60 },
    state: { records: [record(inst)], restores: [], checks: [checkMemo(inst, 'h2', 'duplicate-host', 'WARNING')] },
    health: managed(inst),
    ...over,
  });

const rows: Row[] = [
  {
    rule: 'a converged fleet plans nothing',
    obs: () => observation({ instances: [running], hosts: [ciHost('h1', running)] }),
    expect: [],
  },
  {
    rule: 'terminated instance: every linked host is retired',
    obs: () =>
      observation({
        instances: [running, terminated],
        hosts: [
          ciHost('h1', running),
          ciHost('h2', terminated),
          agentHost('h3', terminated, { createdAt: NOW_S - HOUR }),
        ],
      }),
    expect: ['retire h2 (instance-terminated)', 'retire h3 (instance-terminated)'],
    findings: ['Host Retired', 'Host Retired'],
  },
  {
    rule: 'terminated instance EC2 returns without DNS or IP: the recorded address still retires its agent host',
    obs: () => {
      const wasRunning = instance('i-0000000000000007a');
      return observation({
        instances: [running, asTerminated(wasRunning)],
        hosts: [
          ciHost('h1', running),
          ciHost('h7', wasRunning),
          agentHost('h8', wasRunning, { createdAt: NOW_S - HOUR }),
        ],
        state: { records: [record(wasRunning)], restores: [], checks: [] },
      });
    },
    expect: ['retire h7 (instance-terminated)', 'retire h8 (instance-terminated)'],
  },
  {
    rule: 'owned instance no longer returned by DescribeInstances: hosts retired',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), ciHost('h6', vanished)],
        state: { records: [record(vanished)], restores: [], checks: [] },
      }),
    expect: ['retire h6 (instance-gone)'],
  },
  {
    rule: 'a failed inventory is not "everything terminated"',
    obs: () =>
      observation({
        instances: [],
        regions: [{ region: REGION, ok: false, instanceCount: 0, error: 'UnauthorizedOperation' }],
        hosts: [ciHost('h1', running), ciHost('h6', vanished)],
        state: { records: [record(running), record(vanished)], restores: [], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'an empty inventory is not "everything terminated"',
    obs: () =>
      observation({
        instances: [],
        regions: [{ region: REGION, ok: true, instanceCount: 0 }],
        hosts: [ciHost('h6', vanished)],
        state: { records: [record(vanished)], restores: [], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'foreign host (instance id this account never saw) is untouched',
    obs: () =>
      observation({
        instances: [running],
        hosts: [
          ciHost('h1', running),
          ciHost('hx', instance('i-00000000000000999', { state: 'terminated' })),
        ],
      }),
    expect: [],
  },
  {
    rule: 'stopped instance: working and standby hosts go poweroff',
    obs: () =>
      observation({
        instances: [stopped],
        hosts: [ciHost('h1', stopped), agentHost('h2', stopped, { status: 'standby' })],
      }),
    expect: ['status h1 working->poweroff', 'status h2 standby->poweroff'],
    findings: ['Host Status Changed', 'Host Status Changed'],
  },
  {
    rule: 'stopped instance: a host a person put in maintenance is left alone',
    obs: () =>
      observation({ instances: [stopped], hosts: [ciHost('h1', stopped, { status: 'maintenance' })] }),
    expect: [],
  },
  {
    rule: 'running instance: a poweroff this service set is restored to the remembered status',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running, { status: 'poweroff' })],
        state: { records: [record(running)], restores: [restoreMemo(running, 'h1', 'standby')], checks: [] },
      }),
    expect: ['status h1 poweroff->standby'],
  },
  {
    rule: 'running instance: a poweroff a person set is left alone',
    obs: () => observation({ instances: [running], hosts: [ciHost('h1', running, { status: 'poweroff' })] }),
    expect: [],
  },
  {
    rule: 'running instance: a memo for a host someone already changed is forgotten',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running, { status: 'maintenance' })],
        state: { records: [record(running)], restores: [restoreMemo(running, 'h1', 'working')], checks: [] },
      }),
    expect: ['forget restore h1'],
  },
  {
    rule: 'running instance silent for days keeps its only host',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running, { createdAt: NOW_S - 30 * 24 * HOUR })],
        latestMetricTime: { h1: NOW_S - 5 * 24 * HOUR },
      }),
    expect: [],
  },
  {
    rule: 'duplicate that went silent: its roles move to the canonical host, then it is retired',
    obs: () =>
      observation({
        instances: [running],
        hosts: [
          ciHost('h1', running, { roles: { web: ['app'] } }),
          agentHost('h2', running, { roles: { web: ['nginx'] } }),
        ],
        latestMetricTime: { h2: NOW_S - 2 * HOUR },
      }),
    expect: ['roles h1 web:app,web:nginx', 'retire h2 (duplicate-stale)'],
    findings: ['Duplicate Host Merged'],
  },
  {
    rule: 'duplicate still reporting: duplicate-host check with the fix, nothing retired',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), agentHost('h2', running)],
        latestMetricTime: { h2: NOW_S - 60 },
      }),
    expect: ['check duplicate-host h2 WARNING'],
    findings: ['Duplicate Hosts Detected'],
  },
  {
    rule: 'duplicate already warned and still reporting: no repeat',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), agentHost('h2', running)],
        latestMetricTime: { h2: NOW_S - 60 },
        state: { records: [], restores: [], checks: [checkMemo(running, 'h2', 'duplicate-host', 'WARNING')] },
      }),
    expect: [],
  },
  {
    rule: 'without a customIdentifier host the oldest host is canonical',
    obs: () =>
      observation({
        instances: [running],
        hosts: [
          agentHost('h1', running, { createdAt: NOW_S - 4 * HOUR }),
          agentHost('h2', running, { createdAt: NOW_S - 3 * HOUR }),
        ],
        latestMetricTime: {},
      }),
    expect: ['retire h2 (duplicate-stale)'],
  },
  {
    rule: 'IMDS disabled: imds-disabled WARNING on its hosts, no remediation by default',
    obs: () => observation({ instances: [imdsOff], hosts: [ciHost('h1', imdsOff)] }),
    expect: ['check imds-disabled h1 WARNING'],
    findings: ['IMDS Disabled'],
  },
  {
    rule: 'IMDS disabled with IMDS_REMEDIATE: ModifyInstanceMetadataOptions',
    obs: () => observation({ instances: [imdsOff], hosts: [ciHost('h1', imdsOff)] }),
    policy: { imdsRemediate: true },
    expect: ['check imds-disabled h1 WARNING', 'enable-imds i-0000000000000004d'],
    findings: ['IMDS Disabled', 'IMDS Remediated'],
  },
  {
    rule: 'IMDS enabled again: the warning is closed with OK',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running)],
        state: { records: [], restores: [], checks: [checkMemo(running, 'h1', 'imds-disabled', 'WARNING')] },
      }),
    expect: ['check imds-disabled h1 OK'],
  },
  {
    rule: 'IMDS disabled on an instance with no host: nothing',
    obs: () => observation({ instances: [imdsOff], hosts: [] }),
    expect: [],
  },
  {
    rule: 'opt-out tag: the hosts of an ignored instance are never touched',
    obs: () => observation({ instances: [ignoredTerminated], hosts: [ciHost('h5', ignoredTerminated)] }),
    expect: [],
  },
  {
    rule: 'private IP reused by a newer instance: the old host goes with the old instance only',
    obs: () => {
      const old = instance('i-00000000000000a01', {
        state: 'terminated',
        privateIpAddress: '10.9.9.9',
        privateDnsName: 'ip-10-9-9-9.ap-northeast-1.compute.internal',
        launchTime: NOW - 48 * HOUR * 1000,
      });
      const newer = instance('i-00000000000000a02', {
        privateIpAddress: '10.9.9.9',
        privateDnsName: 'ip-10-9-9-9.ap-northeast-1.compute.internal',
        launchTime: NOW - 2 * HOUR * 1000,
      });
      return observation({
        instances: [old, newer],
        hosts: [
          agentHost('hold', old, { createdAt: NOW_S - 40 * HOUR }),
          agentHost('hnew', newer, { createdAt: NOW_S - HOUR }),
        ],
      });
    },
    expect: ['retire hold (instance-terminated)'],
  },
  {
    rule: 'weak match ambiguous between running instances: nothing linked, ambiguity reported',
    obs: () => {
      const a = instance('i-00000000000000b01', {
        privateIpAddress: '10.7.7.7',
        privateDnsName: 'ip-10-7-7-7.x',
      });
      const b = instance('i-00000000000000b02', {
        privateIpAddress: '10.7.7.7',
        privateDnsName: 'ip-10-7-7-7.y',
      });
      return observation({ instances: [a, b], hosts: [agentHost('h', a)] });
    },
    expect: [],
  },
  {
    rule: 'weak match for a host created before the instance launched: no link',
    obs: () => {
      const t = instance('i-00000000000000c01', { state: 'terminated', launchTime: NOW - HOUR * 1000 });
      return observation({ instances: [t], hosts: [agentHost('h', t, { createdAt: NOW_S - 3 * HOUR })] });
    },
    expect: [],
  },
  {
    rule: 'meta.cloud instance-id links like a customIdentifier',
    obs: () =>
      observation({
        instances: [terminated],
        hosts: [
          host('h9', {
            meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': terminated.instanceId } } },
          }),
        ],
      }),
    expect: ['retire h9 (instance-terminated)'],
  },
  {
    rule: 'shutting-down and pending instances are left until they settle',
    obs: () => {
      const a = instance('i-00000000000000d01', { state: 'shutting-down' });
      const b = instance('i-00000000000000d02', { state: 'pending' });
      return observation({
        instances: [a, b],
        hosts: [ciHost('ha', a), ciHost('hb', b, { status: 'poweroff' })],
      });
    },
    expect: [],
  },
  {
    rule: 'circuit breaker: more than MAX_RETIRE_PER_RUN retires nothing and trips',
    obs: () => {
      const dead = Array.from({ length: 4 }, (_, i) =>
        instance(`i-00000000000000e0${i}`, { state: 'terminated' }),
      );
      const alive = Array.from({ length: 30 }, (_, i) =>
        instance(`i-0000000000000f${String(i).padStart(3, '0')}`),
      );
      return observation({
        instances: [...dead, ...alive],
        hosts: [...dead, ...alive].map((i, k) => ciHost(`h${k}`, i)),
      });
    },
    policy: { circuitBreaker: true, maxRetirePerRun: 3 },
    expect: [],
    findings: ['Circuit Breaker Tripped'],
  },
  {
    rule: 'circuit breaker: more than MAX_RETIRE_PERCENT of owned hosts retires nothing',
    obs: () => {
      const dead = Array.from({ length: 3 }, (_, i) =>
        instance(`i-00000000000000e1${i}`, { state: 'terminated' }),
      );
      const alive = Array.from({ length: 7 }, (_, i) => instance(`i-0000000000000f1${i}`));
      return observation({
        instances: [...dead, ...alive],
        hosts: [...dead, ...alive].map((i, k) => ciHost(`h${k}`, i)),
      });
    },
    policy: { circuitBreaker: true, maxRetirePercent: 20 },
    expect: [],
    findings: ['Circuit Breaker Tripped'],
  },
  {
    rule: 'circuit breaker within limits lets retirements through',
    obs: () => {
      const dead = Array.from({ length: 2 }, (_, i) =>
        instance(`i-00000000000000e2${i}`, { state: 'terminated' }),
      );
      const alive = Array.from({ length: 18 }, (_, i) =>
        instance(`i-0000000000000f2${String(i).padStart(2, '0')}`),
      );
      return observation({
        instances: [...dead, ...alive],
        hosts: [...dead, ...alive].map((i, k) => ciHost(`h${k}`, i)),
      });
    },
    policy: { circuitBreaker: true, maxRetirePercent: 20 },
    expect: ['retire h0 (instance-terminated)', 'retire h1 (instance-terminated)'],
  },
  {
    rule: 'event path: a weak link no sweep recorded is not trusted',
    obs: () =>
      observation({
        mode: 'instances',
        targetIds: [terminated.instanceId],
        instances: [terminated],
        hosts: [ciHost('h2', terminated), agentHost('h3', terminated, { createdAt: NOW_S - HOUR })],
        state: { records: [record(terminated)], restores: [], checks: [] },
      }),
    expect: ['retire h2 (instance-terminated)'],
  },
  {
    rule: 'event path: a weak link a sweep recorded is retired with the instance',
    obs: () =>
      observation({
        mode: 'instances',
        targetIds: [terminated.instanceId],
        instances: [terminated],
        hosts: [ciHost('h2', terminated), agentHost('h3', terminated, { createdAt: NOW_S - HOUR })],
        state: { records: [record(terminated, { linkedHostIds: ['h2', 'h3'] })], restores: [], checks: [] },
      }),
    expect: ['retire h2 (instance-terminated)', 'retire h3 (instance-terminated)'],
  },
  {
    rule: 'event path: EC2 answered NotFound for an owned instance: its hosts are retired',
    obs: () =>
      observation({
        mode: 'instances',
        targetIds: [vanished.instanceId],
        instances: [],
        notFound: [vanished.instanceId],
        hosts: [ciHost('h6', vanished)],
        state: { records: [record(vanished)], restores: [], checks: [] },
      }),
    expect: ['retire h6 (instance-gone)'],
  },
  {
    rule: 'gone needs evidence: NotFound for an instance DescribeInstances never returned is unknown, not gone',
    obs: () =>
      observation({
        mode: 'instances',
        targetIds: [vanished.instanceId],
        instances: [],
        notFound: [vanished.instanceId],
        hosts: [ciHost('h6', vanished)],
        state: { records: [record(vanished, { describedAt: undefined })], restores: [], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'gone needs evidence: a sweep missing an instance EC2 never returned retires nothing',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), ciHost('h6', vanished)],
        state: { records: [record(running), record(vanished, { describedAt: undefined })], restores: [], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'event path: an instance whose look-up failed is unknown, not gone',
    obs: () =>
      observation({
        mode: 'instances',
        targetIds: [vanished.instanceId],
        instances: [],
        regions: [{ region: REGION, ok: false, instanceCount: 0, error: 'throttled' }],
        hosts: [ciHost('h6', vanished)],
        state: { records: [record(vanished)], restores: [], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'event path: instances outside the target are not acted on',
    obs: () =>
      observation({
        mode: 'instances',
        targetIds: [running.instanceId],
        instances: [running, terminated],
        hosts: [ciHost('h1', running), ciHost('h2', terminated)],
      }),
    expect: [],
  },
  {
    rule: 'memos of hosts that no longer exist are forgotten',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running)],
        state: {
          records: [record(running)],
          restores: [restoreMemo(running, 'gone1', 'working')],
          checks: [checkMemo(running, 'gone2', 'duplicate-host', 'WARNING')],
        },
      }),
    expect: ['forget restore gone1', 'forget duplicate-host gone2'],
  },
  {
    rule: 'host-silent: a running instance up ≥ 10 min whose canonical agent host posts no loadavg5 → CRITICAL',
    obs: () =>
      observation({
        instances: [v2Only],
        hosts: [ciHost('h1', v2Only, AGENT)],
        latestMetricTime: { h1: NOW_S - HOUR },
        health: managed(v2Only),
      }),
    expect: ['check host-silent h1 CRITICAL'],
    findings: ['Host Silent'],
  },
  {
    rule: 'host-silent: OK once the host reports again',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running, AGENT)],
        latestMetricTime: { h1: NOW_S - 60 },
        state: { records: [record(running)], restores: [], checks: [checkMemo(running, 'h1', 'host-silent', 'CRITICAL')] },
      }),
    expect: ['check host-silent h1 OK'],
  },
  {
    rule: 'host-silent: not judged for a young instance, an integration-only host (no agent) or a poweroff host',
    obs: () =>
      observation({
        instances: [young, running, stopped],
        hosts: [ciHost('h1', young, AGENT), ciHost('h2', running), ciHost('h3', stopped, { ...AGENT, status: 'poweroff' })],
      }),
    expect: [],
  },
  {
    rule: 'imds-agent-too-old: HttpTokens=required and an agent below 0.67.0 → WARNING; an unparseable version is not judged',
    obs: () =>
      observation({
        instances: [v2Only],
        hosts: [
          ciHost('h1', v2Only, { meta: { 'agent-version': '0.66.9' } }),
          agentHost('h2', v2Only, { meta: { 'agent-version': 'nightly' }, createdAt: NOW_S - HOUR }),
        ],
        latestMetricTime: { h1: NOW_S - 60, h2: NOW_S - 60 },
        state: { records: [record(v2Only)], restores: [], checks: [checkMemo(v2Only, 'h2', 'duplicate-host', 'WARNING')] },
      }),
    expect: ['check imds-agent-too-old h1 WARNING'],
  },
  {
    rule: 'imds-agent-too-old: OK once the agent is upgraded',
    obs: () =>
      observation({
        instances: [v2Only],
        hosts: [ciHost('h1', v2Only, { meta: { 'agent-version': '0.72.1' } })],
        latestMetricTime: { h1: NOW_S - 60 },
        state: { records: [record(v2Only)], restores: [], checks: [checkMemo(v2Only, 'h1', 'imds-agent-too-old', 'WARNING')] },
      }),
    expect: ['check imds-agent-too-old h1 OK'],
  },
  {
    rule: 'retired while running: the finding once per phase; no repair without AGENT_REPAIR',
    obs: () => retiredObs(running),
    expect: ['remember retired-while-running i-0000000000000001a CRITICAL'],
    findings: ['Host Retired While Running'],
  },
  {
    rule: 'retired while running, already published in this phase: nothing',
    obs: () =>
      retiredObs(running, {}, [
        withMemo(checkMemo(running, running.instanceId, 'retired-while-running', 'CRITICAL'), { ref: '3' }),
      ]),
    expect: [],
  },
  {
    rule: 'retired while running with AGENT_REPAIR=true on an SSM-managed Linux instance: repair',
    obs: () => retiredObs(running),
    policy: { agentRepair: true },
    expect: ['remember retired-while-running i-0000000000000001a CRITICAL', 'repair-agent i-0000000000000001a (retired-while-running)'],
  },
  {
    rule: 'agent repair: never on Windows',
    obs: () => retiredObs(windows, managed(windows, 'Windows')),
    policy: { agentRepair: true },
    expect: ['remember retired-while-running i-00000000000000072 CRITICAL'],
  },
  {
    rule: 'agent repair: never on an instance SSM does not manage',
    obs: () => retiredObs(running, { managed: {} }),
    policy: { agentRepair: true },
    expect: ['remember retired-while-running i-0000000000000001a CRITICAL'],
  },
  {
    rule: 'agent repair: at most once per AGENT_REPAIR_HOURS',
    obs: () =>
      retiredObs(running, {}, [
        withMemo(checkMemo(running, running.instanceId, 'retired-while-running', 'CRITICAL'), { ref: '3' }),
        withMemo(checkMemo(running, running.instanceId, 'agent-repair', 'CRITICAL'), { ref: 'cmd-1' }),
      ]),
    policy: { agentRepair: true, agentRepairHours: 24 },
    expect: [],
  },
  {
    rule: 'agent repair: once the window is over, again',
    obs: () =>
      retiredObs(running, {}, [
        withMemo(checkMemo(running, running.instanceId, 'retired-while-running', 'CRITICAL'), { ref: '3' }),
        withMemo(checkMemo(running, running.instanceId, 'agent-repair', 'CRITICAL'), { ref: 'cmd-1', changedAt: NOW_S - 25 * HOUR }),
      ]),
    policy: { agentRepair: true, agentRepairHours: 24 },
    expect: ['repair-agent i-0000000000000001a (retired-while-running)'],
  },
  {
    rule: 'agent repair: its result, read on a later run, is published as Agent Re-registered',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running)],
        state: {
          records: [record(running)],
          restores: [],
          checks: [withMemo(checkMemo(running, running.instanceId, 'agent-repair', 'UNKNOWN'), { ref: 'cmd-1' })],
        },
        health: {
          ...managed(running),
          commands: { [running.instanceId]: { commandId: 'cmd-1', instanceId: running.instanceId, status: 'Success' } },
        },
      }),
    expect: ['remember agent-repair i-0000000000000001a OK'],
    findings: ['Agent Re-registered'],
  },
  {
    rule: 'agent repair: a failed command is published as Agent Repair Failed',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running)],
        state: {
          records: [record(running)],
          restores: [],
          checks: [withMemo(checkMemo(running, running.instanceId, 'agent-repair', 'UNKNOWN'), { ref: 'cmd-1' })],
        },
        health: {
          ...managed(running),
          commands: { [running.instanceId]: { commandId: 'cmd-1', instanceId: running.instanceId, status: 'Failed', output: 'boom' } },
        },
      }),
    expect: ['remember agent-repair i-0000000000000001a CRITICAL'],
    findings: ['Agent Repair Failed'],
  },
  {
    rule: 'agent repair: a duplicate still reporting DUPLICATE_STALE_MINUTES with IMDS enabled is repaired (AGENT_REPAIR=true)',
    obs: () => reportingDupObs(running),
    policy: { agentRepair: true },
    expect: ['repair-agent i-0000000000000001a (duplicate-reporting)'],
  },
  {
    rule: 'agent repair: not while IMDS was enabled again only lately',
    obs: () =>
      reportingDupObs(running, {
        state: {
          records: [record(running)],
          restores: [],
          checks: [
            checkMemo(running, 'h2', 'duplicate-host', 'WARNING'),
            withMemo(checkMemo(running, 'h2', 'imds-disabled', 'OK'), { changedAt: NOW_S - 60 }),
          ],
        },
      }),
    policy: { agentRepair: true },
    expect: [],
  },
  {
    rule: 'agent repair: off by default',
    obs: () => reportingDupObs(running),
    expect: [],
  },
  {
    rule: 'ECS task STOPPED: its container hosts are retired',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), containerHost('c1', taskArn(1)), containerHost('c2', taskArn(2))],
        tasks: tasksSeen({ found: [ecsTask(taskArn(1), 'STOPPED'), ecsTask(taskArn(2), 'RUNNING')] }),
      }),
    expect: ['retire c1 (task-stopped)'],
    findings: ['Host Retired'],
  },
  {
    rule: 'ECS task MISSING: a host created over an hour ago is retired, a younger one is left alone',
    obs: () =>
      observation({
        hosts: [
          containerHost('old', taskArn(1), { createdAt: NOW_S - 2 * HOUR }),
          containerHost('young', taskArn(2), { createdAt: NOW_S - 600 }),
        ],
        tasks: tasksSeen({ missing: [taskArn(1), taskArn(2)] }),
      }),
    expect: ['retire old (task-missing)'],
  },
  {
    rule: 'ECS task of another account: foreign, never touched',
    obs: () =>
      observation({
        hosts: [containerHost('c1', taskArn(1, '210987654321'))],
        tasks: tasksSeen({ found: [ecsTask(taskArn(1, '210987654321'), 'STOPPED')] }),
      }),
    expect: [],
  },
  {
    rule: 'ECS task opted out (mackerel-reconciler:ignore=true): its hosts stay',
    obs: () =>
      observation({
        hosts: [containerHost('c1', taskArn(1))],
        tasks: tasksSeen({ found: [ecsTask(taskArn(1), 'STOPPED', { 'mackerel-reconciler:ignore': 'true' })] }),
      }),
    expect: [],
  },
  {
    rule: 'ECS task whose DescribeTasks failed: unknown, never read as missing',
    obs: () =>
      observation({
        hosts: [containerHost('c1', taskArn(1), { createdAt: NOW_S - 5 * HOUR })],
        tasks: tasksSeen({ unknown: [taskArn(1)] }),
      }),
    expect: [],
  },
  {
    rule: 'a container host is never weakly matched to an instance (same IP as a terminated instance)',
    obs: () =>
      observation({
        instances: [terminated],
        hosts: [
          containerHost('c1', taskArn(1), {
            interfaces: [{ name: 'eth0', ipAddress: terminated.privateIpAddress, ipv4Addresses: [] }],
          }),
        ],
        tasks: tasksSeen({ found: [ecsTask(taskArn(1), 'RUNNING')] }),
        state: { records: [record(terminated)], restores: [], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'early signal (Spot warning, ASG terminate) for a running instance: working/standby hosts → poweroff now',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), agentHost('h2', running, { status: 'standby' }), agentHost('h3', running, { status: 'maintenance' })],
        terminating: { [running.instanceId]: 'spot-interruption' },
      }),
    expect: ['status h1 working->poweroff', 'status h2 standby->poweroff'],
  },
  {
    rule: 'terminating within TERMINATING_HOLD_MINUTES: a running instance’s hosts stay poweroff',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running, { status: 'poweroff' })],
        state: { records: [record(running)], restores: [{ ...restoreMemo(running, 'h1', 'working'), setAt: NOW_S - 30 * 60, terminating: true }], checks: [] },
      }),
    expect: [],
  },
  {
    rule: 'terminating past TERMINATING_HOLD_MINUTES while the instance still runs: the remembered status is restored',
    obs: () =>
      observation({
        instances: [running],
        hosts: [ciHost('h1', running, { status: 'poweroff' })],
        state: { records: [record(running)], restores: [{ ...restoreMemo(running, 'h1', 'working'), setAt: NOW_S - 61 * 60, terminating: true }], checks: [] },
      }),
    expect: ['status h1 poweroff->working'],
  },
];

describe('planner', () => {
  it.each(rows.map((r) => [r.rule, r] as const))('%s', (_rule, row) => {
    const p = plan(row.obs(), policy(row.policy));
    expect(p.actions.map(brief).sort()).toEqual([...row.expect].sort());
    if (row.findings) {
      const all = [...p.findings, ...p.actions.flatMap((a) => a.findings)].map((f) => f.detailType).sort();
      expect(all).toEqual([...row.findings].sort());
    }
  });

  it('reports an ambiguous weak match and links nothing', () => {
    const a = instance('i-00000000000000b11', {
      privateIpAddress: '10.7.7.8',
      privateDnsName: 'ip-10-7-7-8.x',
    });
    const b = instance('i-00000000000000b12', {
      privateIpAddress: '10.7.7.8',
      privateDnsName: 'ip-10-7-7-8.y',
    });
    const p = plan(observation({ instances: [a, b], hosts: [agentHost('h', a)] }), policy());
    expect(p.ambiguities).toEqual([{ hostId: 'h', candidates: [a.instanceId, b.instanceId] }]);
    expect(p.links).toEqual([]);
  });

  it('lists foreign hosts and ignored instances in the plan', () => {
    const foreignInst = instance('i-00000000000000999', { state: 'terminated' });
    const p = plan(
      observation({
        instances: [ignoredTerminated],
        hosts: [ciHost('hx', foreignInst), ciHost('h5', ignoredTerminated)],
      }),
      policy(),
    );
    expect(p.foreignHostIds).toEqual(['hx']);
    expect(p.ignoredInstanceIds).toEqual([ignoredTerminated.instanceId]);
  });

  it('scoped to one instance, the hosts of other instances are not reported as foreign', () => {
    const p = plan(
      observation({
        mode: 'instances',
        targetIds: [running.instanceId],
        instances: [running],
        hosts: [ciHost('h1', running), ciHost('h2', stopped)],
      }),
      policy(),
    );
    expect(p.foreignHostIds).toEqual([]);
  });

  it('remembers the previous status on poweroff and keys status changes by the state version', () => {
    const p = plan(
      observation({
        instances: [stopped],
        hosts: [ciHost('h1', stopped, { status: 'standby' })],
        state: { records: [record(stopped, { version: 7 })], restores: [], checks: [] },
      }),
      policy(),
    );
    const a = p.actions[0];
    expect(a?.kind).toBe('set-status');
    if (a?.kind !== 'set-status') return;
    expect(a.remember).toBe('standby');
    expect(a.key).toBe(`status#h1#poweroff#${stopped.instanceId}@7`);
  });

  it('stamps each action with the instance state it was decided on (memo clean-up has none)', () => {
    const p = plan(
      observation({
        instances: [terminated, stopped, imdsOff],
        hosts: [ciHost('h2', terminated), ciHost('h3', stopped), ciHost('h4', imdsOff)],
        state: {
          records: [],
          restores: [restoreMemo(running, 'gone1', 'working')],
          checks: [],
        },
      }),
      policy(),
    );
    expect(p.actions.map((a) => [brief(a), a.instanceState]).sort()).toEqual(
      [
        ['retire h2 (instance-terminated)', 'terminated'],
        ['status h3 working->poweroff', 'stopped'],
        ['check imds-disabled h4 WARNING', 'running'],
        ['forget restore gone1', undefined],
      ].sort(),
    );
  });

  it('a duplicate merge waits for the role merge it depends on', () => {
    const p = plan(
      observation({
        instances: [running],
        hosts: [ciHost('h1', running), agentHost('h2', running, { roles: { svc: ['db'] } })],
        latestMetricTime: { h2: NOW_S - 5 * HOUR },
      }),
      policy(),
    );
    const roles = p.actions.find((a) => a.kind === 'merge-roles');
    const retire = p.actions.find((a) => a.kind === 'retire');
    expect(retire?.kind === 'retire' && retire.dependsOn).toBe(roles?.key);
    expect(NOW).toBeGreaterThan(0);
  });
});

describe('planner: early signals and open alerts (#12)', () => {
  it('an early signal’s poweroff is marked terminating (its memo holds the host off)', () => {
    const p = plan(
      observation({ instances: [running], hosts: [ciHost('h1', running)], terminating: { [running.instanceId]: 'asg-terminate' } }),
      policy(),
    );
    expect(p.actions).toMatchObject([{ kind: 'set-status', to: 'poweroff', remember: 'working', terminating: true }]);
    expect(p.actions[0]?.reason).toMatch(/Auto Scaling/);
  });

  it('the circuit breaker counts container hosts: too many stopped tasks in a sweep retire nothing, all held', () => {
    const arns = [1, 2, 3, 4].map((n) => taskArn(n));
    const p = plan(
      observation({
        hosts: arns.map((a, i) => containerHost(`c${i}`, a)),
        tasks: tasksSeen({ found: arns.map((a, i) => ecsTask(a, i < 3 ? 'STOPPED' : 'RUNNING')) }),
      }),
      policy({ circuitBreaker: true, maxRetirePerRun: 50, maxRetirePercent: 20 }),
    );
    expect(p.actions).toEqual([]);
    expect(p.circuitBreaker).toMatchObject({ tripped: true, retirements: 3, ownedHosts: 4 });
    expect(p.held?.map((h) => h.action.key).sort()).toEqual(['retire#c0', 'retire#c1', 'retire#c2']);
  });

  it('isTerminating: a terminating memo holds for the hold, a plain memo never', () => {
    expect(isTerminating({ terminating: true, setAt: NOW_S - 59 * 60 }, NOW_S, 60)).toBe(true);
    expect(isTerminating({ terminating: true, setAt: NOW_S - 60 * 60 }, NOW_S, 60)).toBe(false);
    expect(isTerminating({ setAt: NOW_S }, NOW_S, 60)).toBe(false);
  });

  it('closeAlertsFor: each poweroff whose host has open alerts closes them, after its poweroff; other hosts and hostless alerts are left', () => {
    const p = plan(observation({ instances: [stopped], hosts: [ciHost('h1', stopped), ciHost('h2', running)] }), policy());
    const closures = closeAlertsFor(p.actions, [
      { id: 'a2', status: 'CRITICAL', type: 'connectivity', hostId: 'h1' },
      { id: 'a1', status: 'WARNING', type: 'host', hostId: 'h1' },
      { id: 'b1', status: 'CRITICAL', type: 'connectivity', hostId: 'h2' },
      { id: 's1', status: 'CRITICAL', type: 'service' },
    ]);
    expect(closures.map(brief)).toEqual(['close-alerts h1 a1,a2']);
    expect(closures[0]?.dependsOn).toBe(p.actions[0]?.key);
    expect(closures[0]?.reason).toContain(stopped.instanceId);
    expect(closures[0]?.findings.map((f) => f.detailType)).toEqual(['Alerts Closed']);
    // a restore is no poweroff; a host without open alerts gets no action
    expect(closeAlertsFor(p.actions, [])).toEqual([]);
  });
});


// Found by the property tests (plan.property.test.ts); each was a counterexample fast-check shrank to this.
describe('planner, regressions found by the property tests', () => {
  it('a host retired now takes its memos along once the retirement is done: replanning gives nothing', () => {
    const gone = instance('i-0000000000000d001', { state: 'terminated' });
    const obs = observation({
      instances: [running, asTerminated(gone)],
      hosts: [ciHost('h1', running), ciHost('h2', gone, { status: 'poweroff' })],
      state: {
        records: [record(running), record(gone)],
        restores: [restoreMemo(gone, 'h2', 'standby')],
        checks: [checkMemo(gone, 'h2', 'imds-disabled', 'WARNING')],
      },
    });
    const p = plan(obs, policy());
    expect(p.actions.map(brief)).toEqual([
      'retire h2 (instance-terminated)',
      'forget imds-disabled h2',
      'forget restore h2',
    ]);
    for (const a of p.actions.filter((x) => x.kind === 'forget-memo')) {
      expect(a.kind === 'forget-memo' && a.dependsOn).toBe('retire#h2');
    }
    expect(plan(applyPlan(obs, p), policy()).actions).toEqual([]);
  });

  it('a vanished instance whose record says running does not take a reused address from a live one', () => {
    const live = instance('i-0000000000000d002', { state: 'stopped', privateIpAddress: '10.9.9.9' });
    const vanished = instance('i-0000000000000d003', { privateIpAddress: '10.9.9.9' });
    const p = plan(
      observation({
        instances: [live],
        hosts: [agentHost('h3', live, { createdAt: NOW_S - HOUR })],
        state: { records: [record(live), record(vanished, { state: 'running' })], restores: [], checks: [] },
      }),
      policy(),
    );
    expect(p.actions.map(brief)).toEqual([]);
    const candidates = [live.instanceId, vanished.instanceId].sort();
    expect(p.ambiguities).toEqual([{ hostId: 'h3', candidates }]);
  });

  it('a restore memo kept under another instance (a re-linked host) is forgotten where it lives', () => {
    const other = instance('i-0000000000000d004', { state: 'stopped' });
    const running2 = instance('i-0000000000000d014');
    const obs = observation({
      instances: [running, running2, other],
      hosts: [ciHost('h4', running, { status: 'poweroff' }), ciHost('h5', running2)],
      state: {
        records: [record(running), record(running2), record(other)],
        restores: [restoreMemo(other, 'h4', 'standby'), restoreMemo(other, 'h5', 'working')],
        checks: [],
      },
    });
    const p = plan(obs, policy());
    expect(p.actions.map((a) => [brief(a), a.instanceId])).toEqual([
      ['status h4 poweroff->standby', running.instanceId],
      ['forget restore h4', other.instanceId],
      ['forget restore h5', other.instanceId],
    ]);
    const forget = p.actions.find((a) => a.kind === 'forget-memo' && a.hostId === 'h4');
    expect(forget?.kind === 'forget-memo' && forget.dependsOn).toBe(p.actions[0]?.key);
    expect(plan(applyPlan(obs, p), policy()).actions).toEqual([]);
  });

  it('a duplicate retired by this plan gets no check report, and its warning memo goes with it', () => {
    const imdsOffRunning = instance('i-0000000000000d005', { httpEndpoint: 'disabled' });
    const obs = observation({
      instances: [imdsOffRunning],
      hosts: [ciHost('h6', imdsOffRunning), agentHost('h7', imdsOffRunning, { createdAt: NOW_S - 5 * HOUR })],
      state: {
        records: [record(imdsOffRunning)],
        restores: [],
        checks: [checkMemo(imdsOffRunning, 'h7', 'duplicate-host', 'WARNING')],
      },
      latestMetricTime: { h7: NOW_S - 2 * HOUR },
    });
    const p = plan(obs, policy());
    expect(p.actions.map(brief)).toEqual([
      'check imds-disabled h6 WARNING',
      'retire h7 (duplicate-stale)',
      'forget duplicate-host h7',
    ]);
    expect(plan(applyPlan(obs, p), policy()).actions).toEqual([]);
  });
});
