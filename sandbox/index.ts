// The whole local world in one call: fake Mackerel, fake EC2, a PutEvents recorder and dynalite, plus the
// environment a handler reads, so `applyEnv()` is all a test needs to point real code at the fakes.
import { FakeAlertmanager } from './alertmanager-server.js';
import { createStateTable, startDynamo } from './dynamodb.js';
import { FakeEc2 } from './ec2-server.js';
import { FakeEcs } from './ecs-server.js';
import { FakeEventBridge } from './eventbridge-server.js';
import { FakeMackerel } from './mackerel-server.js';
import { mulberry32 } from './random.js';
import { FakeSts } from './sts-server.js';
import { simulateAgentRepair } from './agent-sim.js';
import { FakeSsm } from './ssm-server.js';

export * from './alertmanager-server.js';
export { createStateTable, startDynamo } from './dynamodb.js';
export * from './container-meta.js';
export * from './ec2-server.js';
export * from './ecs-server.js';
export * from './eventbridge-server.js';
export * from './events.js';
export * from './host-meta.js';
export * from './mackerel-server.js';
export * from './random.js';
export * from './sts-server.js';
export * from './ssm-server.js';
export * from './agent-sim.js';

export const SANDBOX_REGION = 'ap-northeast-1';
export const DEFAULT_TABLE_NAME = 'mackerel-reconciler-state';

export interface Sandbox {
  mackerel: FakeMackerel;
  ec2: FakeEc2;
  /** ECS DescribeTasks / ListTasks (AWS_ENDPOINT_URL_ECS) */
  ecs: FakeEcs;
  eventBridge: FakeEventBridge;
  sts: FakeSts;
  /** a small Alertmanager API v2; off for the handlers until ALERTMANAGER_URL is set to its url */
  alertmanager: FakeAlertmanager;
  /** SSM: DescribeInstanceInformation, SendCommand, GetCommandInvocation (and GetParameter); plays the agent repair */
  ssm: FakeSsm;
  dynamo: { endpoint: string };
  /** MACKEREL_APIBASE, MACKEREL_APIKEY, AWS_ENDPOINT_URL_{EC2,EVENTBRIDGE,DYNAMODB,STS,SSM}, AWS_REGION,
   * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, STATE_TABLE, EVENT_BUS_NAME, REGIONS */
  env: Record<string, string>;
  accountId: string;
  /** the seed every fake's rng was derived from; print it in a failing test */
  seed: number;
  functionArn(name: string): string;
  /** writes `env` into process.env; the returned function restores the previous values */
  applyEnv(): () => void;
  stop(): Promise<void>;
}

export async function startSandbox(
  opts: {
    latencyMs?: number;
    seed?: number;
    tableName?: string;
    regions?: string[];
    /** hosts added without a `meta` get an agent's realistic meta (opt-in: tests rely on `{}`) */
    realisticMeta?: boolean;
  } = {},
): Promise<Sandbox> {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const latencyMs = opts.latencyMs ?? 0;
  const tableName = opts.tableName ?? DEFAULT_TABLE_NAME;
  const regions = opts.regions ?? [SANDBOX_REGION];
  // One stream per fake, so adding a call to one does not reshuffle the others.
  const mackerel = new FakeMackerel({ latencyMs, rng: mulberry32(seed), realisticMeta: opts.realisticMeta ?? false });
  const ec2 = new FakeEc2({ latencyMs, rng: mulberry32(seed ^ 0x5bd1e995) });
  const eventBridge = new FakeEventBridge({ latencyMs, rng: mulberry32(seed ^ 0x27d4eb2f) });
  const ecs = new FakeEcs({ accountId: ec2.accountId, latencyMs, rng: mulberry32(seed ^ 0x2545f491) });
  const sts = new FakeSts({ accountId: ec2.accountId, latencyMs, rng: mulberry32(seed ^ 0x165667b1) });
  const ssm = new FakeSsm(ec2.accountId, regions[0]);
  simulateAgentRepair(mackerel, ec2, ssm);

  const started: { stop(): Promise<void> }[] = [];
  try {
    await mackerel.start();
    started.push(mackerel);
    await ec2.start();
    started.push(ec2);
    await eventBridge.start();
    started.push(eventBridge);
    await sts.start();
    started.push(sts);
    const alertmanager = new FakeAlertmanager();
    await alertmanager.start();
    started.push(alertmanager);
    await ssm.start();
    started.push(ssm);
    await ecs.start();
    started.push(ecs);
    const dynamo = await startDynamo();
    started.push(dynamo);
    await createStateTable(dynamo.endpoint, tableName, SANDBOX_REGION);

    const env: Record<string, string> = {
      MACKEREL_APIBASE: mackerel.url,
      MACKEREL_APIKEY: mackerel.apiKey,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ENDPOINT_URL_ECS: ecs.url,
      AWS_REGION: SANDBOX_REGION,
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      STATE_TABLE: tableName,
      EVENT_BUS_NAME: 'default',
      REGIONS: regions.join(','),
    };
    const accountId = ec2.accountId;

    return {
      mackerel,
      ec2,
      ecs,
      eventBridge,
      sts,
      alertmanager,
      ssm,
      dynamo: { endpoint: dynamo.endpoint },
      env,
      accountId,
      seed,
      functionArn: (name) =>
        `arn:aws:lambda:${SANDBOX_REGION}:${accountId}:function:mackerel-reconciler-${name}`,
      applyEnv() {
        const previous = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
        Object.assign(process.env, env);
        return () => {
          for (const [k, v] of Object.entries(previous)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
          }
        };
      },
      async stop() {
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw err;
  }
}
