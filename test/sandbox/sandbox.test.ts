import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, pick, type Sandbox, shuffle, startSandbox } from '../../sandbox/index.js';

const SEED = 1234;
console.log(`sandbox.test seed=${SEED}`);

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: SEED,
    regions: ['ap-northeast-1', 'us-west-2'],
    tableName: 'sbx-state',
  });
});

afterAll(async () => {
  await sandbox.stop();
});

describe('startSandbox', () => {
  it('exposes the environment a handler reads', () => {
    expect(sandbox.seed).toBe(SEED);
    expect(sandbox.env).toEqual({
      MACKEREL_APIBASE: sandbox.mackerel.url,
      MACKEREL_APIKEY: 'sandbox-api-key',
      AWS_ENDPOINT_URL_EC2: sandbox.ec2.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: sandbox.eventBridge.url,
      AWS_ENDPOINT_URL_DYNAMODB: sandbox.dynamo.endpoint,
      AWS_ENDPOINT_URL_STS: sandbox.sts.url,
      AWS_ENDPOINT_URL_SSM: sandbox.ssm.url,
      AWS_ENDPOINT_URL_ECS: sandbox.ecs.url,
      AWS_REGION: 'ap-northeast-1',
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      STATE_TABLE: 'sbx-state',
      EVENT_BUS_NAME: 'default',
      REGIONS: 'ap-northeast-1,us-west-2',
    });
    for (const url of [
      sandbox.mackerel.url,
      sandbox.ec2.url,
      sandbox.eventBridge.url,
      sandbox.dynamo.endpoint,
      sandbox.sts.url,
    ]) {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(sandbox.functionArn('sweep')).toBe(
      'arn:aws:lambda:ap-northeast-1:123456789012:function:mackerel-reconciler-sweep',
    );
  });

  it('lets SDK clients built from the environment alone reach every fake, then restores the environment', async () => {
    const before = process.env.AWS_REGION;
    process.env.STATE_TABLE = 'outer-value';
    const restore = sandbox.applyEnv();
    try {
      expect(process.env.STATE_TABLE).toBe('sbx-state');
      sandbox.ec2.addInstance({});
      const ec2 = new EC2Client({});
      const eb = new EventBridgeClient({});
      const ddb = new DynamoDBClient({});
      const sts = new STSClient({});
      const out = await ec2.send(new DescribeInstancesCommand({}));
      expect(out.Reservations).toHaveLength(1);
      await eb.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'mackerel-reconciler',
              DetailType: 'Reconcile Failed',
              Detail: '{}',
              EventBusName: 'default',
            },
          ],
        }),
      );
      await ddb.send(
        new PutItemCommand({ TableName: 'sbx-state', Item: { pk: { S: 'a' }, sk: { S: 'b' } } }),
      );
      const res = await fetch(`${process.env.MACKEREL_APIBASE}/api/v0/hosts`, {
        headers: { 'X-Api-Key': process.env.MACKEREL_APIKEY ?? '' },
      });
      expect(res.status).toBe(200);
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      expect(identity.Account).toBe(sandbox.accountId);
      for (const c of [ec2, eb, ddb, sts]) c.destroy();
      expect(sandbox.ec2.calls.at(-1)).toMatchObject({
        action: 'DescribeInstances',
        region: 'ap-northeast-1',
      });
      expect(sandbox.eventBridge.events.map((e) => e.detailType)).toEqual(['Reconcile Failed']);
      expect(sandbox.mackerel.calls.at(-1)).toMatchObject({ path: '/api/v0/hosts', status: 200 });
    } finally {
      restore();
    }
    expect(process.env.STATE_TABLE).toBe('outer-value');
    expect(process.env.AWS_REGION).toBe(before);
    delete process.env.STATE_TABLE;
  });
});

describe('seeded randomness', () => {
  it('mulberry32 repeats from a seed, and pick/shuffle draw from it', () => {
    const a = mulberry32(SEED);
    const b = mulberry32(SEED);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    const s1 = shuffle(mulberry32(9), items);
    expect(shuffle(mulberry32(9), items)).toEqual(s1);
    expect([...s1].sort()).toEqual(items);
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(items).toContain(pick(mulberry32(3), items));
  });
});
