// The agent's side of the repair, played in the sandbox: when SSM runs the repair command on an instance, its
// mackerel-agent forgets its host id and registers again. With IMDS reachable it finds the host that carries
// the instance's customIdentifier (or creates it, when that one was retired) and posts there from now on; the
// plain duplicate host posts no more and goes silent, for the duplicate rule to retire.
import type { FakeEc2 } from './ec2-server.js';
import type { FakeHost, FakeMackerel } from './mackerel-server.js';
import type { FakeSsm } from './ssm-server.js';

export function simulateAgentRepair(mackerel: FakeMackerel, ec2: FakeEc2, ssm: FakeSsm): void {
  ssm.onCommand = (instanceId) => {
    const inst = ec2.instances.get(instanceId);
    if (!inst || inst.state !== 'running') return { status: 'Failed', output: 'instance not running' };
    if (inst.httpEndpoint !== 'enabled') return { status: 'Failed', output: 'IMDS is disabled: the agent registered a plain host again' };
    const ci = `${instanceId}.ec2.amazonaws.com`;
    const live = [...mackerel.hosts.values()].filter((h) => !h.isRetired);
    const plain = live.filter((h) => !h.customIdentifier && (h.name === inst.privateDnsName || h.name === inst.privateDnsName.split('.')[0]));
    let canonical: FakeHost | undefined = live.find((h) => h.customIdentifier?.toLowerCase() === ci);
    canonical ??= mackerel.addHost({
      name: inst.privateDnsName,
      customIdentifier: ci,
      meta: { 'agent-version': plain[0]?.meta['agent-version'] ?? '0.84.0' },
    });
    mackerel.setLatestMetric(canonical.id, 'loadavg5', Math.floor(Date.now() / 1000), 0.2);
    return { status: 'Success', output: `mackerel-agent restarted; it reports as host ${canonical.id}` };
  };
}
