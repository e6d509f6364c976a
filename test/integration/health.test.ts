/** Host health and agent repair (docs/design.md, "Host health"), through the real handlers against the sandbox. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeInstance } from '../../sandbox/index.js';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

const nowS = () => Math.floor(Date.now() / 1000);
const AGENT = { meta: { 'agent-version': '0.84.0' } };

type Report = { name: string; status: string; message: string; source: { hostId: string } };
const checks = (name: string) => (w.sb.mackerel.checkReports as Report[]).filter((r) => r.name === name);
const findings = (detailType: string) => w.sb.eventBridge.events.filter((e) => e.detailType === detailType);
const ssmCalls = (op: string) => w.sb.ssm.calls.filter((c) => c.target === `AmazonSSM.${op}`);
const writes = () => w.sb.mackerel.calls.filter((c) => c.method !== 'GET').length;

/** An instance whose only host was retired by mistake after a sweep recorded it. */
async function retiredWhileRunning(over: Partial<FakeInstance> = {}) {
  const made = w.instanceWithHost(over, AGENT);
  w.healthy(9);
  await w.onSweep();
  const h = w.sb.mackerel.hosts.get(made.hostId);
  if (h) h.isRetired = true;
  return made;
}

/** A running instance with IMDS enabled whose agent still reports to a plain duplicate host it registered earlier. */
function reportingDuplicate(over: Partial<FakeInstance> = {}) {
  const made = w.instanceWithHost(over, AGENT);
  w.healthy(9);
  const dup = w.agentHost(made.inst, { ...AGENT, createdAt: nowS() - 50 * 60 });
  w.sb.mackerel.setLatestMetric(dup, 'loadavg5', nowS() - 30, 0.4);
  return { ...made, dup };
}

describe('host-silent', () => {
  it('a converged fleet of agent hosts plans nothing and asks SSM nothing', async () => {
    for (let i = 0; i < 5; i++) w.instanceWithHost({}, AGENT);
    await w.onSweep();
    const before = writes();
    const report = await w.onSweep();
    expect(report.counts.planned).toBe(0);
    expect(writes()).toBe(before);
    expect(w.sb.ssm.calls).toHaveLength(0);
    // one tsdb/latest for the five canonical hosts
    expect(w.sb.mackerel.calls.filter((c) => c.path === '/api/v0/tsdb/latest').length).toBe(2);
  });

  it('raises CRITICAL with what can be seen from here, once; OK when the host reports again', async () => {
    const { inst, hostId } = w.instanceWithHost({ httpTokens: 'required' }, AGENT);
    w.healthy(3);
    w.sb.ssm.manage(inst.instanceId);
    w.sb.mackerel.setLatestMetric(hostId, 'loadavg5', nowS() - 3600, 0.1);

    const first = await w.onSweep();
    expect(checks('host-silent')).toMatchObject([{ status: 'CRITICAL', source: { hostId } }]);
    const message = checks('host-silent')[0]?.message ?? '';
    expect(message).toMatch(/no loadavg5 for 60 min/);
    expect(message).toMatch(/running for (59|60) min/);
    expect(message).toMatch(/host status working/);
    expect(message).toMatch(/mackerel-agent 0\.84\.0/);
    expect(message).toMatch(/HttpEndpoint=enabled, HttpTokens=required, hop limit 1/);
    expect(message).toMatch(/managed by SSM \(Online, Linux\)/);
    expect(findings('Host Silent')).toHaveLength(1);
    expect(findings('Host Silent')[0]?.detail).toMatchObject({ instanceId: inst.instanceId, hostId, agentVersion: '0.84.0' });
    expect(first.counts.failed).toBe(0);
    // one DescribeInstanceInformation for the one silent instance
    expect(ssmCalls('DescribeInstanceInformation')).toHaveLength(1);

    expect((await w.onSweep()).counts.planned).toBe(0);
    expect(checks('host-silent')).toHaveLength(1);

    w.sb.mackerel.setLatestMetric(hostId, 'loadavg5', nowS() - 20, 0.3);
    await w.onSweep();
    expect(checks('host-silent').map((r) => r.status)).toEqual(['CRITICAL', 'OK']);
    expect((await w.onSweep()).counts.planned).toBe(0);
  });

  it('says when SSM does not manage the instance; a young instance or an integration-only host is not judged', async () => {
    const { hostId } = w.instanceWithHost({}, AGENT);
    const young = w.instanceWithHost({ launchTime: new Date(Date.now() - 5 * 60_000) }, AGENT);
    const integrationOnly = w.instanceWithHost();
    w.healthy(3);
    for (const id of [hostId, young.hostId, integrationOnly.hostId]) {
      w.sb.mackerel.setLatestMetric(id, 'loadavg5', nowS() - 3600, 0.1);
    }
    await w.onSweep();
    expect(checks('host-silent').map((r) => r.source.hostId)).toEqual([hostId]);
    expect(checks('host-silent')[0]?.message).toMatch(/not managed by SSM/);
  });

  it('an agent that stops posting (the sandbox silences it) is diagnosed', async () => {
    const { hostId } = w.instanceWithHost({}, { ...AGENT, createdAt: nowS() - 7200 });
    w.healthy(3);
    // no metric set: the sandbox's agent reports until silenced
    w.sb.mackerel.silenceAgent(hostId);
    await w.onSweep();
    expect(checks('host-silent')).toHaveLength(0); // instanceWithHost set a fresh metric: still reporting
    w.sb.mackerel.setLatestMetric(hostId, 'loadavg5', nowS() - 1800, 0.1);
    await w.onSweep();
    expect(checks('host-silent')).toMatchObject([{ status: 'CRITICAL', source: { hostId } }]);
  });
});

describe('imds-agent-too-old', () => {
  it('WARNING with the fix where IMDSv2 is required and the agent predates 0.67.0; OK once fixed', async () => {
    const { inst, hostId } = w.instanceWithHost({ httpTokens: 'required' }, { meta: { 'agent-version': '0.66.2' } });
    const unparseable = w.instanceWithHost({ httpTokens: 'required' }, { meta: { 'agent-version': 'nightly' } });
    const recent = w.instanceWithHost({ httpTokens: 'required' }, { meta: { 'agent-version': '0.72.1-dev' } });
    w.healthy(3);
    await w.onSweep();
    expect(checks('imds-agent-too-old')).toMatchObject([{ status: 'WARNING', source: { hostId } }]);
    expect(checks('imds-agent-too-old')[0]?.message).toMatch(/upgrade mackerel-agent, or allow IMDSv1/);
    expect(checks('imds-agent-too-old')[0]?.message).toMatch(/--http-tokens optional/);
    expect(checks('imds-agent-too-old').map((r) => r.source.hostId)).not.toContain(unparseable.hostId);
    expect(checks('imds-agent-too-old').map((r) => r.source.hostId)).not.toContain(recent.hostId);
    expect((await w.onSweep()).counts.planned).toBe(0);

    const fake = w.sb.ec2.instances.get(inst.instanceId);
    if (fake) fake.httpTokens = 'optional';
    await w.onSweep();
    expect(checks('imds-agent-too-old').map((r) => r.status)).toEqual(['WARNING', 'OK']);
    expect((await w.onSweep()).counts.planned).toBe(0);
  });
});

describe('retired while running', () => {
  it('publishes the finding with the fix once per phase; no repair without AGENT_REPAIR', async () => {
    const { inst, hostId } = await retiredWhileRunning();
    w.sb.ssm.manage(inst.instanceId);
    await w.onSweep();
    expect(findings('Host Retired While Running')).toHaveLength(1);
    expect(findings('Host Retired While Running')[0]?.detail).toMatchObject({
      instanceId: inst.instanceId,
      retiredHostIds: [hostId],
      repair: false,
    });
    expect(String((findings('Host Retired While Running')[0]?.detail as { fix?: string } | undefined)?.fix)).toMatch(/delete \/var\/lib\/mackerel-agent\/id/);
    await w.onSweep();
    await w.onSweep();
    expect(findings('Host Retired While Running')).toHaveLength(1);
    expect(ssmCalls('SendCommand')).toHaveLength(0);
    expect((await w.onSweep()).counts.planned).toBe(0);
  });

  it('with AGENT_REPAIR=true: one SendCommand, its result read later as Agent Re-registered, then converged', async () => {
    w.setEnv({ AGENT_REPAIR: 'true' });
    const { inst } = await retiredWhileRunning();
    w.sb.ssm.manage(inst.instanceId);

    await w.onSweep();
    expect(w.sb.ssm.commandsFor(inst.instanceId)).toHaveLength(1);
    const sent = w.sb.ssm.commands[0];
    expect(sent?.documentName).toBe('AWS-RunShellScript');
    expect(sent?.commands.join('\n')).toMatch(/rm -f \/var\/lib\/mackerel-agent\/id/);
    expect(findings('Host Retired While Running')[0]?.detail).toMatchObject({ repair: true });

    // the agent registered again: a live host carries the instance's customIdentifier
    const fresh = [...w.sb.mackerel.hosts.values()].filter(
      (h) => !h.isRetired && h.customIdentifier === `${inst.instanceId}.ec2.amazonaws.com`,
    );
    expect(fresh).toHaveLength(1);
    await w.onSweep();
    expect(ssmCalls('GetCommandInvocation')).toHaveLength(1);
    expect(findings('Agent Re-registered')).toHaveLength(1);
    expect(findings('Agent Re-registered')[0]?.detail).toMatchObject({ instanceId: inst.instanceId, status: 'Success' });
    expect(w.sb.ssm.commandsFor(inst.instanceId)).toHaveLength(1);
    const settled = await w.onSweep();
    expect(settled.counts.planned).toBe(0);
    expect(ssmCalls('GetCommandInvocation')).toHaveLength(1);
  });

  it('a failed command is published as Agent Repair Failed and not sent again within AGENT_REPAIR_HOURS', async () => {
    w.setEnv({ AGENT_REPAIR: 'true' });
    const { inst } = await retiredWhileRunning();
    w.sb.ssm.manage(inst.instanceId);
    w.sb.ssm.onCommand = () => ({ status: 'Failed', output: 'mackerel-agent.service not found' });
    w.sb.ssm.inProgressReads = 1;

    await w.onSweep();
    await w.onSweep(); // still InProgress: nothing published yet
    expect(findings('Agent Repair Failed')).toHaveLength(0);
    await w.onSweep();
    expect(findings('Agent Repair Failed')).toHaveLength(1);
    expect(findings('Agent Repair Failed')[0]?.detail).toMatchObject({ status: 'Failed', output: 'mackerel-agent.service not found' });
    await w.onSweep();
    expect(w.sb.ssm.commandsFor(inst.instanceId)).toHaveLength(1);
    expect(findings('Agent Repair Failed')).toHaveLength(1);
  });

  it('SendCommand takes at most 50 instances a call', async () => {
    w.setEnv({ AGENT_REPAIR: 'true', MAX_RETIRE_PERCENT: '100' });
    const made = Array.from({ length: 51 }, () => w.instanceWithHost({}, AGENT));
    await w.onSweep();
    for (const { inst, hostId } of made) {
      w.sb.ssm.manage(inst.instanceId);
      const h = w.sb.mackerel.hosts.get(hostId);
      if (h) h.isRetired = true;
    }
    await w.onSweep();
    expect(w.sb.ssm.commands.map((c) => c.instanceIds.length).sort((a, b) => a - b)).toEqual([1, 50]);
    expect(findings('Host Retired While Running')).toHaveLength(51);
  });
});

describe('agent repair of a duplicate still reporting with IMDS enabled', () => {
  it('heals end to end: warned, repaired once, re-registered, the old host goes silent and is retired', async () => {
    w.setEnv({ AGENT_REPAIR: 'true', DUPLICATE_STALE_MINUTES: '30' });
    const { inst, hostId, dup } = reportingDuplicate();
    w.sb.ssm.manage(inst.instanceId);

    await w.onSweep();
    expect(checks('duplicate-host')).toMatchObject([{ status: 'WARNING', source: { hostId: dup } }]);
    expect(w.sb.ssm.commands).toHaveLength(0); // warned first

    await w.onSweep();
    expect(w.sb.ssm.commandsFor(inst.instanceId)).toHaveLength(1);
    await w.onSweep();
    expect(findings('Agent Re-registered')).toHaveLength(1);
    expect(w.sb.ssm.commandsFor(inst.instanceId)).toHaveLength(1);

    // the agent posts to the canonical host now; half an hour later the duplicate is stale
    w.sb.mackerel.setLatestMetric(dup, 'loadavg5', nowS() - 3600, 0.4);
    await w.onSweep();
    expect(w.sb.mackerel.hosts.get(dup)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(hostId)?.isRetired).toBe(false);
    expect((await w.onSweep()).counts.planned).toBe(0);
  });

  it('two concurrent runs send the command once', async () => {
    w.setEnv({ AGENT_REPAIR: 'true' });
    const { inst } = reportingDuplicate();
    w.sb.ssm.manage(inst.instanceId);
    await w.onSweep();
    const reports = await Promise.all([w.onSweep(), w.onReplay({ instanceIds: [inst.instanceId] }), w.onReplay({ instanceIds: [inst.instanceId] })]);
    expect(w.sb.ssm.commandsFor(inst.instanceId)).toHaveLength(1);
    const outcomes = reports.flatMap((r) => r.actions.filter((a) => a.kind === 'repair-agent').map((a) => a.outcome));
    expect(outcomes.filter((o) => o === 'done')).toHaveLength(1);
  });

  it('never on Windows, an opted-out instance, an instance SSM does not manage, or in a dry run', async () => {
    w.setEnv({ AGENT_REPAIR: 'true' });
    const windows = reportingDuplicate({ platform: 'windows' });
    w.sb.ssm.manage(windows.inst.instanceId, { platformType: 'Windows' });
    const optedOut = reportingDuplicate({ tags: { 'mackerel-reconciler:ignore': 'true' } });
    w.sb.ssm.manage(optedOut.inst.instanceId);
    reportingDuplicate(); // not managed by SSM
    const dry = reportingDuplicate();
    w.sb.ssm.manage(dry.inst.instanceId);

    w.setEnv({ DRY_RUN: 'true' });
    await w.onSweep();
    await w.onSweep();
    const report = await w.onSweep();
    expect(report.actions.filter((a) => a.kind === 'repair-agent')).toEqual([]); // not warned yet: dry runs keep no memo
    w.setEnv({ DRY_RUN: undefined });
    await w.onSweep(); // warns
    w.setEnv({ DRY_RUN: 'true' });
    const planned = await w.onSweep();
    expect(planned.actions.filter((a) => a.kind === 'repair-agent').map((a) => [a.instanceId, a.outcome])).toEqual([
      [dry.inst.instanceId, 'planned'],
    ]);
    expect(w.sb.ssm.commands).toHaveLength(0);
  });
});
