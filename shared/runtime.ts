/**
 * Everything a run needs, built once per Lambda container from the environment and the invocation context
 * (`runtimeFor`), or from an account id the caller found itself (`buildRuntime`: the command line asks STS).
 */

import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { type Config, ConfigError, loadConfig } from './config.js';
import { Ec2Inventory } from './ec2/inventory.js';
import { FindingsPublisher } from './findings/publish.js';
import { AlertmanagerClient } from './alertmanager/client.js';
import { logger } from './logger.js';
import { MackerelClient } from './mackerel/client.js';
import { MackerelOff } from './mackerel/off.js';
import type { GraphAnnotationSink, RunLogger, Trace } from './reconcile/ports.js';
import { SsmAgents } from './ssm/agents.js';
import type { OnProgress } from './reconcile/progress.js';
import { DynamoLedger } from './state/dynamo-ledger.js';
import { traced, traceWith, tracer } from './tracing.js';
import { EcsTasks } from './ecs/tasks.js';
import type { AlertDesk } from './reconcile/ports.js';

export type { RunLogger };

export interface Runtime {
  config: Config;
  accountId: string;
  /** MackerelOff while only Alertmanager is configured */
  mackerel: MackerelClient | MackerelOff;
  inventory: Ec2Inventory;
  store: DynamoLedger;
  publisher: FindingsPublisher;
  /** SSM: which instances it manages, and the agent repair (AGENT_REPAIR=true) */
  ssm?: SsmAgents;
  logger: RunLogger;
  clock: () => number;
  /** told what observe has read so far; only the command line listens */
  onProgress?: OnProgress;
  /** where graph annotations go: the Mackerel client unless overridden */
  annotations?: GraphAnnotationSink;
  /** runs observe, plan and execute as trace segments (Powertools Tracer in Lambda) */
  trace?: Trace;
  /** present while ALERTMANAGER_URL is set */
  alertmanager?: AlertmanagerClient;
  /** ECS DescribeTasks, for container hosts */
  tasks?: EcsTasks;
  /** open alerts: the Mackerel client */
  alerts?: AlertDesk;
}

/** The account id is the fifth field of the function's ARN. */
export function accountIdOf(context: Pick<Context, 'invokedFunctionArn'>): string {
  const account = context.invokedFunctionArn?.split(':')[4] ?? '';
  if (!/^\d{12}$/.test(account)) {
    throw new ConfigError(
      `cannot read the account id from context.invokedFunctionArn "${context.invokedFunctionArn}"`,
    );
  }
  return account;
}

/**
 * What an invocation keeps for planning and acting once the host list is read: a quarter of its remaining time,
 * at least a minute, never more than half. The sweep (900 s) must have its list by 675 s; a 60 s function by
 * 30 s. Acting is bounded (the circuit breaker, batches of 30) but its DynamoDB claims and findings grow with
 * the fleet, hence a share and not a fixed margin.
 */
export const PLAN_AND_ACT_SHARE = 0.25;
export const PLAN_AND_ACT_MIN_MS = 60_000;

/** The host list's deadline (epoch ms) for this invocation; undefined outside Lambda (no remaining time known). */
export function hostListDeadline(
  context: Partial<Pick<Context, 'getRemainingTimeInMillis'>>,
  now: number = Date.now(),
): number | undefined {
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : NaN;
  if (!Number.isFinite(remaining)) return undefined;
  const reserve = Math.min(Math.max(remaining * PLAN_AND_ACT_SHARE, PLAN_AND_ACT_MIN_MS), remaining / 2);
  return now + Math.max(0, remaining - reserve);
}

async function apiKeyOf(config: Config): Promise<string> {
  if (config.apiKey) return config.apiKey;
  const name = config.apiKeyParameter as string;
  // Cached for 5 minutes across invocations; a rotated key is picked up without a redeploy.
  const value = await getParameter(name, { decrypt: true, maxAge: 300 });
  if (!value) throw new ConfigError(`SSM parameter ${name} is empty`);
  return value;
}

/** The Alertmanager credential from its SecureString, cached like the API key; never logged. */
async function alertmanagerAuthOf(config: Config): Promise<string | undefined> {
  const name = config.alertmanager?.authParameter;
  if (!name) return undefined;
  const value = await getParameter(name, { decrypt: true, maxAge: 300 });
  if (!value) throw new ConfigError(`SSM parameter ${name} is empty`);
  return value;
}

/** Mackerel when its key is configured; else nothing is read from it (Alertmanager alone). */
async function mackerelOf(config: Config, log: RunLogger): Promise<MackerelClient | MackerelOff> {
  if (!config.apiKey && !config.apiKeyParameter) return new MackerelOff();
  return new MackerelClient({
    apiKey: await apiKeyOf(config),
    apiBase: config.apiBase,
    onRetry: (info) => log.warn('Mackerel API retry', { ...info }),
  });
}

async function alertmanagerOf(config: Config, log: RunLogger): Promise<AlertmanagerClient | undefined> {
  const am = config.alertmanager;
  if (!am) return undefined;
  const auth = await alertmanagerAuthOf(config);
  return new AlertmanagerClient({
    url: am.url,
    instanceLabel: am.instanceLabel,
    ...(auth ? { auth } : {}),
    onRetry: (info) => log.warn('Alertmanager API retry', { ...info }),
  });
}

let cached: { signature: string; runtime: Runtime } | undefined;

const SIGNATURE_VARS = [
  'MACKEREL_APIKEY',
  'MACKEREL_APIKEY_PARAMETER',
  'MACKEREL_APIBASE',
  'STATE_TABLE',
  'EVENT_BUS_NAME',
  'REGIONS',
  'AWS_REGION',
  'DRY_RUN',
  'MAX_RETIRE_PER_RUN',
  'MAX_RETIRE_PERCENT',
  'DUPLICATE_STALE_MINUTES',
  'IMDS_REMEDIATE',
  'GRAPH_ANNOTATIONS',
  'SILENT_MINUTES',
  'AGENT_REPAIR',
  'AGENT_REPAIR_HOURS',
  'AWS_ENDPOINT_URL_SSM',
  'AWS_ENDPOINT_URL_EC2',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
  'ALERTMANAGER_URL',
  'ALERTMANAGER_AUTH_PARAMETER',
  'ALERTMANAGER_INSTANCE_LABEL',
  'AWS_ENDPOINT_URL_ECS',
  'TERMINATING_HOLD_MINUTES',
];

/** Builds (or reuses, while the environment is unchanged) the runtime for an invocation. */
export async function runtimeFor(
  context: Pick<Context, 'invokedFunctionArn'>,
  overrides: Partial<Runtime> = {},
): Promise<Runtime> {
  const accountId = accountIdOf(context);
  const signature = JSON.stringify([accountId, ...SIGNATURE_VARS.map((v) => process.env[v] ?? '')]);
  if (cached?.signature === signature && Object.keys(overrides).length === 0) return cached.runtime;
  const runtime = await buildRuntime(accountId, overrides);
  if (Object.keys(overrides).length === 0) cached = { signature, runtime };
  return runtime;
}

/**
 * A runtime for an account id found by the caller. `overrides.config` replaces the environment's config
 * (the command line's flags win over the variables); `overrides.logger` also receives the API retry warnings.
 */
export async function buildRuntime(accountId: string, overrides: Partial<Runtime> = {}): Promise<Runtime> {
  const config = overrides.config ?? loadConfig();
  const log = overrides.logger ?? logger;
  const [mackerel, alertmanager] = await Promise.all([mackerelOf(config, log), alertmanagerOf(config, log)]);
  const runtime: Runtime = {
    config,
    accountId,
    mackerel,
    ...(alertmanager ? { alertmanager } : {}),
    // X-Ray subsegments for every AWS call in Lambda; pass-throughs elsewhere (shared/tracing.ts)
    inventory: new Ec2Inventory({ decorate: traced }),
    store: new DynamoLedger(config.stateTable, traced(new DynamoDBClient({}))),
    publisher: new FindingsPublisher({ eventBusName: config.eventBusName, client: traced(new EventBridgeClient({})) }),
    trace: traceWith(tracer()),
    ssm: new SsmAgents(),
    tasks: new EcsTasks(),
    logger: log,
    clock: Date.now,
    ...overrides,
  };
  // Graph annotations go to the same Mackerel as the hosts, unless a caller says otherwise.
  // (none while Mackerel is off: only Alertmanager is configured)
  // Open alerts are closed in the same Mackerel too.
  if (!(runtime.mackerel instanceof MackerelClient)) return runtime;
  return { annotations: runtime.mackerel, alerts: runtime.mackerel, ...runtime };
}

export function resetRuntime(): void {
  cached = undefined;
}
