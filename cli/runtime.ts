/**
 * The command line's runtime: the Lambda's configuration variables with the flags on top, the account
 * from STS, logs on stderr, and a progress listener. Everything else is the engine's own `buildRuntime`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../shared/config.js';
import type { OnProgress } from '../shared/reconcile/progress.js';
import { buildRuntime, type RunLogger, type Runtime } from '../shared/runtime.js';
import { DynamoLedger } from '../shared/state/dynamo-ledger.js';
import { callerAccountId } from './account.js';
import type { Options } from './args.js';
import { markService } from './explain.js';

export async function cliRuntime(
  options: Options,
  env: NodeJS.ProcessEnv,
  logger: RunLogger,
  onProgress: OnProgress,
): Promise<Runtime> {
  const config = loadConfig({
    ...env,
    ...(options.regions ? { REGIONS: options.regions.join(',') } : {}),
    ...(options.table ? { STATE_TABLE: options.table } : {}),
    ...(options.maxRetire !== undefined ? { MAX_RETIRE_PER_RUN: String(options.maxRetire) } : {}),
    ...(options.maxRetirePercent !== undefined ? { MAX_RETIRE_PERCENT: String(options.maxRetirePercent) } : {}),
  });
  const accountId = await callerAccountId(config.regions[0] as string);
  // The state table's client marks its errors, so that a bare ECONNREFUSED names DynamoDB (cli/explain.ts).
  const store = new DynamoLedger(config.stateTable, markService(new DynamoDBClient({}), 'DynamoDB'));
  return buildRuntime(accountId, { config, logger, onProgress, store });
}
