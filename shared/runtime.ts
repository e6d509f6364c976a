/**
 * Everything a run needs, built once per Lambda container from the environment and the invocation context.
 */

import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { type Config, ConfigError, loadConfig } from './config.js';
import { Ec2Inventory } from './ec2/inventory.js';
import { FindingsPublisher } from './findings/publish.js';
import { logger } from './logger.js';
import { MackerelClient } from './mackerel/client.js';
import { StateStore } from './state/store.js';

export interface Runtime {
  config: Config;
  accountId: string;
  mackerel: MackerelClient;
  inventory: Ec2Inventory;
  store: StateStore;
  publisher: FindingsPublisher;
  logger: typeof logger;
  clock: () => number;
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
];

/** Builds (or reuses, while the environment is unchanged) the runtime for an invocation. */
export async function runtimeFor(
  context: Pick<Context, 'invokedFunctionArn'>,
  overrides: Partial<Runtime> = {},
): Promise<Runtime> {
  const accountId = accountIdOf(context);
  const signature = JSON.stringify([accountId, ...SIGNATURE_VARS.map((v) => process.env[v] ?? '')]);
  if (cached?.signature === signature && Object.keys(overrides).length === 0) return cached.runtime;
  const config = loadConfig();
  const apiKey = await apiKeyOf(config);
  const runtime: Runtime = {
    config,
    accountId,
    mackerel: new MackerelClient({
      apiKey,
      apiBase: config.apiBase,
      onRetry: (info) => logger.warn('Mackerel API retry', { ...info }),
    }),
    inventory: new Ec2Inventory(),
    store: new StateStore(config.stateTable, new DynamoDBClient({})),
    publisher: new FindingsPublisher({ eventBusName: config.eventBusName }),
    logger,
    clock: Date.now,
    ...overrides,
  };
  if (Object.keys(overrides).length === 0) cached = { signature, runtime };
  return runtime;
}

export function resetRuntime(): void {
  cached = undefined;
}
