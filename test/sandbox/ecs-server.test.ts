/** The fake ECS server (#12) through the real @aws-sdk/client-ecs: DescribeTasks and ListTasks as the SDK sees them. */
import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeEcs } from '../../sandbox/ecs-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import { EcsTasks } from '../../shared/ecs/tasks.js';

const SEED = Number(process.env.TEST_SEED ?? 20261130);
console.log(`ecs server tests: seed ${SEED}`);

let ecs: FakeEcs;
let client: ECSClient;
beforeEach(async () => {
  ecs = new FakeEcs({ rng: mulberry32(SEED) });
  await ecs.start();
  client = new ECSClient({
    region: 'ap-northeast-1',
    endpoint: ecs.url,
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    maxAttempts: 1,
  });
});
afterEach(async () => {
  client.destroy();
  await ecs.stop();
});

describe('fake ECS', () => {
  it('DescribeTasks: found tasks with tags on request, unknown and forgotten ones as MISSING failures', async () => {
    const a = ecs.addTask({ cluster: 'web', tags: { team: 'shop' } });
    const b = ecs.addTask({ cluster: 'web' });
    ecs.stopTask(b.taskArn);
    const gone = ecs.addTask({ cluster: 'web' });
    ecs.forgetTask(gone.taskArn);
    const res = await client.send(
      new DescribeTasksCommand({ cluster: 'web', tasks: [a.taskArn, b.taskArn, gone.taskArn], include: ['TAGS'] }),
    );
    expect(res.tasks?.map((t) => [t.taskArn, t.lastStatus])).toEqual([
      [a.taskArn, 'RUNNING'],
      [b.taskArn, 'STOPPED'],
    ]);
    expect(res.tasks?.[0]?.tags).toEqual([{ key: 'team', value: 'shop' }]);
    expect(res.failures).toEqual([{ arn: gone.taskArn, reason: 'MISSING' }]);
    await expect(
      client.send(new DescribeTasksCommand({ cluster: 'web', tasks: Array.from({ length: 101 }, () => a.taskArn) })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('ListTasks pages running tasks of a cluster with nextToken', async () => {
    for (let i = 0; i < 3; i++) ecs.addTask({ cluster: 'batch' });
    ecs.addTask({ cluster: 'web' });
    const first = await client.send(new ListTasksCommand({ cluster: 'batch', maxResults: 2 }));
    const second = await client.send(new ListTasksCommand({ cluster: 'batch', maxResults: 2, nextToken: first.nextToken }));
    expect([...(first.taskArns ?? []), ...(second.taskArns ?? [])]).toHaveLength(3);
    expect(second.nextToken).toBeUndefined();
  });

  it('the adapter: ≤ 100 ARNs a call; MISSING apart from other failures; a failed call throws', async () => {
    const tasks = new EcsTasks({ clientFor: () => client });
    const arns = Array.from({ length: 150 }, () => ecs.addTask({ cluster: 'web' }).taskArn);
    const res = await tasks.describeTasks('ap-northeast-1', 'web', [...arns, 'arn:aws:ecs:ap-northeast-1:123456789012:task/web/0']);
    expect(res.found).toHaveLength(150);
    expect(res.missing).toEqual(['arn:aws:ecs:ap-northeast-1:123456789012:task/web/0']);
    expect(ecs.callsOf('DescribeTasks').map((c) => (c.params.tasks as string[]).length)).toEqual([100, 51]);
    ecs.inject({ action: 'DescribeTasks', status: 400, type: 'AccessDeniedException', times: 1 });
    await expect(tasks.describeTasks('ap-northeast-1', 'web', [arns[0] as string])).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
