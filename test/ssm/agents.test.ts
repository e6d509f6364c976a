/** shared/ssm/agents.ts through the real SSMClient against the sandbox's fake SSM: batches, paging, results. */
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeSsm } from '../../sandbox/ssm-server.js';
import { REPAIR_DOCUMENT, SsmAgents } from '../../shared/ssm/agents.js';

const REGION = 'ap-northeast-1';
let ssm: FakeSsm;
let agents: SsmAgents;
const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `i-${(from + i).toString(16).padStart(17, '0')}`);

beforeAll(async () => {
  ssm = new FakeSsm();
  await ssm.start();
  agents = new SsmAgents({
    maxAttempts: 1,
    clientFor: (region) =>
      new SSMClient({ region, endpoint: ssm.url, credentials: { accessKeyId: 'sandbox', secretAccessKey: 'x' }, maxAttempts: 1 }),
  });
});
afterAll(() => ssm.stop());
beforeEach(() => {
  ssm.calls.length = 0;
  ssm.commands.length = 0;
  ssm.managed.clear();
  ssm.onCommand = undefined;
});

describe('SsmAgents', () => {
  it('asks DescribeInstanceInformation about 50 ids a call and pages; an instance SSM does not manage is absent', async () => {
    const wanted = ids(120);
    for (const id of wanted.slice(0, 110)) ssm.manage(id);
    ssm.manage(wanted[0] as string, { platformType: 'Windows' });
    const managed = await agents.describeManaged(REGION, wanted);
    expect(managed).toHaveLength(110);
    expect(managed.find((m) => m.instanceId === wanted[0])).toEqual({ instanceId: wanted[0], pingStatus: 'Online', platformType: 'Windows' });
    expect(ssm.calls.filter((c) => c.target === 'AmazonSSM.DescribeInstanceInformation')).toHaveLength(3);
  });

  it('sends the repair to at most 50 instances a call, AWS-RunShellScript, and reads each result', async () => {
    const wanted = ids(75);
    for (const id of wanted) ssm.manage(id);
    ssm.onCommand = (id) => (id === wanted[1] ? { status: 'Failed', output: 'no such unit' } : undefined);
    const res = await agents.reregisterAgents(REGION, wanted);
    expect(res.failed).toEqual([]);
    expect(res.done).toHaveLength(75);
    expect(ssm.commands.map((c) => [c.documentName, c.instanceIds.length])).toEqual([
      [REPAIR_DOCUMENT, 50],
      [REPAIR_DOCUMENT, 25],
    ]);
    expect(ssm.commands[0]?.commands).toContain('rm -f /var/lib/mackerel-agent/id');
    const ok = res.done.find((d) => d.instanceId === wanted[0]);
    const bad = res.done.find((d) => d.instanceId === wanted[1]);
    expect(await agents.commandResult(REGION, ok?.commandId ?? '', wanted[0] as string)).toMatchObject({ status: 'Success' });
    expect(await agents.commandResult(REGION, bad?.commandId ?? '', wanted[1] as string)).toMatchObject({
      status: 'Failed',
      output: 'no such unit',
    });
  });

  it('an invocation SSM does not know (yet) is Unknown, not an error', async () => {
    expect(await agents.commandResult(REGION, 'no-such-command', 'i-00000000000000001')).toEqual({
      commandId: 'no-such-command',
      instanceId: 'i-00000000000000001',
      status: 'Unknown',
    });
  });

  it('a SendCommand that cannot be sent fails its instances as outcomes, never a throw', async () => {
    const wanted = ids(3);
    const bad = new SsmAgents({
      maxAttempts: 1,
      clientFor: () =>
        new SSMClient({ region: REGION, endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 }),
    });
    const res = await bad.reregisterAgents(REGION, wanted);
    expect(res.done).toEqual([]);
    expect(res.failed.map((f) => f.id.instanceId)).toEqual(wanted);
  });
});
