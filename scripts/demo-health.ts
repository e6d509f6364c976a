/**
 * `npm start`, host health: a silent host diagnosed (and cleared), then, with AGENT_REPAIR=true, a duplicate host
 * healed end to end over the sandbox's SSM Run Command: warned, the agent re-registered, its result read, the old
 * host silent and retired, and a last sweep that changes nothing.
 */
import type { Sandbox } from '../sandbox/index.js';
import type { Report } from '../shared/reconcile/run.js';

const line = (s = '') => console.log(s);
const heading = (s: string) => line(`\n${s}\n${'─'.repeat(Math.min(110, s.length))}`);
const nowS = () => Math.floor(Date.now() / 1000);

class HealthDemoFailure extends Error {
  override name = 'DemoFailure';
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new HealthDemoFailure(`host health: ${what}`);
}

/** One sweep, and what it did in the fakes: check reports, findings, SSM commands. */
async function step(sb: Sandbox, title: string, sweep: () => Promise<Report>) {
  const checks = sb.mackerel.checkReports.length;
  const events = sb.eventBridge.events.length;
  const commands = sb.ssm.commands.length;
  const report = await sweep();
  const newChecks = (sb.mackerel.checkReports.slice(checks) as { name: string; status: string; message: string; source: { hostId: string } }[]);
  const newEvents = sb.eventBridge.events.slice(events);
  line(`\n  ${title}: ${report.counts.planned} actions, ${report.counts.done} done, ${report.counts.failed} failed`);
  for (const c of newChecks) line(`    check ${c.name} ${c.status} on ${c.source.hostId}: ${c.message}`);
  for (const e of newEvents) line(`    finding ${e.detailType}`);
  for (const c of sb.ssm.commands.slice(commands)) {
    line(`    SSM SendCommand ${c.documentName} on ${c.instanceIds.join(', ')}: ${c.commands.filter((x) => x.includes('mackerel-agent')).join('; ')}`);
  }
  return { report, newChecks, newEvents };
}

export async function demoHealth(sb: Sandbox, sweep: () => Promise<Report>): Promise<void> {
  heading('Host health — why a host went silent');
  const inst = sb.ec2.addInstance({ launchTime: new Date(Date.now() - 3 * 3600_000), httpTokens: 'required' });
  const host = sb.mackerel.addHost({
    name: inst.privateDnsName,
    customIdentifier: `${inst.instanceId}.ec2.amazonaws.com`,
    createdAt: nowS() - 2 * 3600,
    roles: { shop: ['web'] },
    meta: { 'agent-version': '0.84.0' },
  });
  sb.ssm.manage(inst.instanceId);
  await step(sb, `a new instance ${inst.instanceId} whose agent reports`, sweep);
  sb.mackerel.silenceAgent(host.id);
  line(`\n  its agent stops posting (an expired CA bundle, say); its host ${host.id} posts nothing since it was created 2 h ago`);
  const silent = await step(sb, 'sweep', sweep);
  expect(silent.newChecks.some((c) => c.name === 'host-silent' && c.status === 'CRITICAL'), 'no host-silent CRITICAL');
  expect(silent.newEvents.some((e) => e.detailType === 'Host Silent'), 'no Host Silent finding');
  sb.mackerel.silentAgents.delete(host.id);
  line('\n  someone fixes it: the agent reports again');
  const back = await step(sb, 'sweep', sweep);
  expect(back.newChecks.some((c) => c.name === 'host-silent' && c.status === 'OK'), 'no host-silent OK');

  heading('Agent repair (AGENT_REPAIR=true) — a duplicate host healed over SSM Run Command');
  process.env.AGENT_REPAIR = 'true';
  try {
    const dupInst = sb.ec2.addInstance({ launchTime: new Date(Date.now() - 3 * 3600_000) });
    const canonical = sb.mackerel.addHost({
      name: dupInst.privateDnsName,
      customIdentifier: `${dupInst.instanceId}.ec2.amazonaws.com`,
      createdAt: nowS() - 2 * 3600,
      roles: { shop: ['api'] },
      meta: { 'agent-version': '0.84.0' },
    });
    const dup = sb.mackerel.addHost({
      name: dupInst.privateDnsName.split('.')[0] as string,
      interfaces: [{ name: 'eth0', ipAddress: dupInst.privateIpAddress, ipv4Addresses: [`${dupInst.privateIpAddress}/24`] }],
      createdAt: nowS() - 50 * 60,
      roles: { shop: ['api'] },
      meta: { 'agent-version': '0.84.0' },
    });
    sb.mackerel.setLatestMetric(dup.id, 'loadavg5', nowS() - 30, 0.4);
    sb.ssm.manage(dupInst.instanceId);
    line(`  ${dupInst.instanceId}: IMDS was unreachable when its agent started 50 min ago, so it posts to a plain host ${dup.id}`);
    line(`  beside ${canonical.id}, the host with its customIdentifier; IMDS works now, SSM manages the instance (Linux, Online)`);
    await step(sb, 'sweep: the duplicate is warned', sweep);
    const sent = await step(sb, 'sweep: it still reports, so the agent is re-registered', sweep);
    expect(sb.ssm.commandsFor(dupInst.instanceId).length === 1, 'no repair command was sent');
    expect(sent.report.actions.some((a) => a.kind === 'repair-agent' && a.outcome === 'done'), 'the repair is not done');
    const result = await step(sb, "sweep: the command's result", sweep);
    expect(result.newEvents.some((e) => e.detailType === 'Agent Re-registered'), 'no Agent Re-registered finding');
    // Half an hour later the old host has been silent for DUPLICATE_STALE_MINUTES: the sandbox moves its metric back.
    sb.mackerel.setLatestMetric(dup.id, 'loadavg5', nowS() - 3600, 0.4);
    line(`\n  the agent posts to ${canonical.id} now; half an hour later ${dup.id} has been silent for DUPLICATE_STALE_MINUTES`);
    await step(sb, 'sweep: the old host is retired', sweep);
    expect(sb.mackerel.hosts.get(dup.id)?.isRetired === true, `${dup.id} was not retired`);
    const writes = sb.mackerel.calls.filter((c) => c.method !== 'GET').length;
    const commands = sb.ssm.commands.length;
    const last = await step(sb, 'sweep: converged?', sweep);
    const extra = sb.mackerel.calls.filter((c) => c.method !== 'GET').length - writes;
    expect(last.report.counts.planned === 0 && extra === 0 && sb.ssm.commands.length === commands, 'the last sweep is not converged');
    line(`\n  healed: ${canonical.id} reports, ${dup.id} retired, one SSM command; the last sweep planned nothing and wrote nothing`);
  } finally {
    delete process.env.AGENT_REPAIR;
  }
}
