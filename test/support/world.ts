/** A sandbox with the real handlers wired to it, for integration tests. */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { handler as stateChange } from '../../functions/instance-state-change/handler.js';
import { handler as replay } from '../../functions/replay/handler.js';
import { handler as sweep } from '../../functions/sweep/handler.js';
import { handler as taskStateChange } from '../../functions/task-state-change/handler.js';
import {
  ec2StateChangeEvent,
  type FakeInstance,
  type Sandbox,
  scheduledEvent,
  startSandbox,
} from '../../sandbox/index.js';
import { lambdaContext } from '../../sandbox/lambda-context.js';
import type { Report } from '../../shared/reconcile/run.js';
import { resetRuntime } from '../../shared/runtime.js';

export const HOUR_MS = 3_600_000;

export { lambdaContext };

export interface World {
  sb: Sandbox;
  seed: number;
  /** an instance launched an hour ago with its integration host (customIdentifier) */
  instanceWithHost(
    over?: Partial<FakeInstance>,
    host?: Record<string, unknown>,
  ): { inst: FakeInstance; hostId: string };
  /** n healthy running instances with one host each (keeps sweeps under the circuit breaker's percentage) */
  healthy(n: number): string[];
  /** the agent's second host for an instance (no IMDS: name and IP only) */
  agentHost(inst: FakeInstance, over?: Record<string, unknown>): string;
  stateChangeEvent(
    instanceId: string,
    state: string,
    over?: { time?: Date; account?: string; id?: string },
  ): unknown;
  onStateChange(event: unknown): Promise<Report>;
  onSweep(): Promise<Report>;
  onReplay(payload: unknown): Promise<Report>;
  /** the task-state-change function */
  onTaskStateChange(event: unknown): Promise<Report>;
  setEnv(vars: Record<string, string | undefined>): void;
  retiredIds(): string[];
  /** every item of the state table (the sandbox's dynalite) */
  tableItems(): Promise<Record<string, unknown>[]>;
  retireCallsFor(hostId: string): number;
  stop(): Promise<void>;
}

/** Ten healthy instances, one terminated and one stopped, each with its integration host. */
export function driftedFleet(w: World) {
  w.healthy(10);
  const terminated = w.instanceWithHost();
  w.sb.ec2.setState(terminated.inst.instanceId, 'terminated');
  const stopped = w.instanceWithHost();
  w.sb.ec2.setState(stopped.inst.instanceId, 'stopped');
  return { terminated, stopped };
}

export async function createWorld(): Promise<World> {
  const seed = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const sb = await startSandbox({ seed });
  const restoreEnv = sb.applyEnv();
  const touched = new Map<string, string | undefined>();
  resetRuntime();
  const now = () => Date.now();
  const w: World = {
    sb,
    seed,
    instanceWithHost(over = {}, host = {}) {
      const inst = sb.ec2.addInstance({ launchTime: new Date(now() - HOUR_MS), ...over });
      const h = sb.mackerel.addHost({
        name: inst.privateDnsName,
        customIdentifier: `${inst.instanceId}.ec2.amazonaws.com`,
        createdAt: Math.floor(now() / 1000) - 1800,
        roles: { shop: ['web'] },
        ...host,
      });
      sb.mackerel.setLatestMetric(h.id, 'loadavg5', Math.floor(now() / 1000) - 60, 0.3);
      return { inst, hostId: h.id };
    },
    healthy(n) {
      return Array.from({ length: n }, () => w.instanceWithHost().hostId);
    },
    agentHost(inst, over = {}) {
      const h = sb.mackerel.addHost({
        name: inst.privateDnsName,
        interfaces: [
          { name: 'eth0', ipAddress: inst.privateIpAddress, ipv4Addresses: [`${inst.privateIpAddress}/24`] },
        ],
        createdAt: Math.floor(now() / 1000) - 1200,
        ...over,
      });
      return h.id;
    },
    stateChangeEvent(instanceId, state, over = {}) {
      return ec2StateChangeEvent({
        accountId: over.account ?? sb.accountId,
        instanceId,
        state,
        id: over.id,
        time: over.time,
      });
    },
    onStateChange: (event) =>
      stateChange(event, lambdaContext(sb.functionArn('instance-state-change'))) as Promise<Report>,
    onSweep: () =>
      sweep(
        scheduledEvent({ accountId: sb.accountId }),
        lambdaContext(sb.functionArn('sweep')),
      ) as Promise<Report>,
    onReplay: (payload) => replay(payload, lambdaContext(sb.functionArn('replay'))) as Promise<Report>,
    onTaskStateChange: (event) =>
      taskStateChange(event, lambdaContext(sb.functionArn('task-state-change'))) as Promise<Report>,
    setEnv(vars) {
      for (const [k, v] of Object.entries(vars)) {
        if (!touched.has(k)) touched.set(k, process.env[k]);
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
    async tableItems() {
      const ddb = new DynamoDBClient({ endpoint: sb.dynamo.endpoint, region: 'ap-northeast-1' });
      const res = await ddb.send(new ScanCommand({ TableName: sb.env.STATE_TABLE }));
      ddb.destroy();
      return (res.Items ?? []) as Record<string, unknown>[];
    },
    retiredIds: () => [...sb.mackerel.hosts.values()].filter((h) => h.isRetired).map((h) => h.id),
    retireCallsFor: (hostId) =>
      sb.mackerel.calls.filter(
        (c) =>
          c.status === 200 &&
          ((c.path === '/api/v0/hosts/bulk-retire' &&
            ((c.body as { ids?: string[] })?.ids ?? []).includes(hostId)) ||
            c.path === `/api/v0/hosts/${hostId}/retire`),
      ).length,
    async stop() {
      for (const [k, v] of touched) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      restoreEnv();
      resetRuntime();
      await sb.stop();
    },
  };
  return w;
}
