/**
 * Everything a run needs, built once per Lambda container from the environment and the invocation context
 * (`runtimeFor`), or from an account id the caller found itself (`buildRuntime`: the command line asks STS).
 */

import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { type Config, ConfigError, loadConfig } from './config.js';
import { Ec2Inventory } from './ec2/inventory.js';
import { FindingsPublisher } from './findings/publish.js';
import { logger } from './logger.js';
import { MackerelClient } from './mackerel/client.js';
import type { RunLogger } from './reconcile/ports.js';
import type { OnProgress } from './reconcile/progress.js';
import { DynamoLedger } from './state/dynamo-ledger.js';
import { EcsTasks } from './ecs/tasks.js';
import type { AlertDesk } from './reconcile/ports.js';

export type { RunLogger };

export interface Runtime {
  config: Config;
  accountId: string;
  mackerel: MackerelClient;
  inventory: Ec2Inventory;
  store: DynamoLedger;
  publisher: FindingsPublisher;
  logger: RunLogger;
  clock: () => number;
  /** told what observe has read so far; only the command line listens */
  onProgress?: OnProgress;
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
  'AWS_ENDPOINT_URL_EC2',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
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
  const apiKey = await apiKeyOf(config);
  const mackerel =
    overrides.mackerel ??
    new MackerelClient({
      apiKey,
      apiBase: config.apiBase,
      onRetry: (info) => log.warn('Mackerel API retry', { ...info }),
    });
  return {
    config,
    accountId,
    mackerel,
    tasks: new EcsTasks(),
    alerts: mackerel,
    inventory: new Ec2Inventory(),
    store: new DynamoLedger(config.stateTable, new DynamoDBClient({})),
    publisher: new FindingsPublisher({ eventBusName: config.eventBusName }),
    logger: log,
    clock: Date.now,
    ...overrides,
  };
}

export function resetRuntime(): void {
  cached = undefined;
}
