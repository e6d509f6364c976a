/**
 * An error as one line for a person: which service failed, at which endpoint, table and region, and what to
 * check. The DynamoDB client the command line builds marks its errors (`markService`) so that a bare
 * `connect ECONNREFUSED` or `ResourceNotFoundException` can be told to come from the state table.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../shared/config.js';
import { clipText } from '../shared/errors.js';
import { MackerelApiError, MackerelNetworkError } from '../shared/mackerel/errors.js';
import { AccountLookupError } from './account.js';
import { PlanFileError } from './saved-plan.js';

const SERVICE = Symbol.for('mackerel-reconciler.service');

/** Tags every error the client throws (the same object: the ledger still recognises its conditional failures). */
export function markService(client: DynamoDBClient, service: string): DynamoDBClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        if (e !== null && typeof e === 'object') Object.defineProperty(e, SERVICE, { value: service });
        throw e;
      }
    },
    { step: 'initialize', name: 'markServiceOfErrors' },
  );
  return client;
}

/** Where the command line was pointed, as the environment and the flags say. */
export interface Whereabouts {
  table?: string;
  region?: string;
  dynamoEndpoint?: string;
  mackerelBase: string;
}

export function whereabouts(env: NodeJS.ProcessEnv, table: string | undefined): Whereabouts {
  return {
    table: table ?? env.STATE_TABLE,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    dynamoEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL,
    mackerelBase: env.MACKEREL_APIBASE?.trim() || 'https://api.mackerelio.com',
  };
}

const NETWORK = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up|TimeoutError/;

/** The error itself or one of its causes that carries a service mark. */
function marked(e: unknown): { error: Error; service: string } | undefined {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    const service = (x as unknown as Record<symbol, unknown>)[SERVICE];
    if (typeof service === 'string') return { error: x, service };
  }
  return undefined;
}

function dynamo(e: Error, w: Whereabouts): string {
  const table = `table "${w.table ?? '(STATE_TABLE unset)'}"`;
  const region = w.region ?? '(no region)';
  const at = w.dynamoEndpoint ?? `dynamodb.${region}.amazonaws.com`;
  const said = `${e.name}: ${clipText(e.message, 300)}`;
  if (e.name === 'ResourceNotFoundException') {
    return (
      `DynamoDB ${table} not found in region ${region} (${at}): check --table / STATE_TABLE, and that AWS_REGION is ` +
      'the region the stack was deployed to'
    );
  }
  if (NETWORK.test(`${e.name} ${e.message} ${(e as { code?: string }).code ?? ''}`)) {
    return `cannot reach DynamoDB at ${at} (${table}, region ${region}): ${said}: check AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION and the network`;
  }
  if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken/.test(e.name)) {
    return `DynamoDB refused ${table} in region ${region}: ${said}: check the credentials and their IAM permissions`;
  }
  return `DynamoDB ${table} in region ${region} (${at}): ${said}`;
}

function mackerel(e: MackerelNetworkError | MackerelApiError, w: Whereabouts): string {
  if (e instanceof MackerelNetworkError) {
    return `cannot reach Mackerel at ${w.mackerelBase}: ${clipText(e.message, 300)}: check MACKEREL_APIBASE and the network (proxy, firewall)`;
  }
  const hint =
    e.status === 401 || e.status === 403
      ? ': check MACKEREL_APIKEY (or the SSM parameter MACKEREL_APIKEY_PARAMETER names): it needs read and write access'
      : '';
  return `Mackerel at ${w.mackerelBase}: ${clipText(e.message, 300)}${hint}`;
}

export function explain(e: unknown, w: Whereabouts): string {
  if (e instanceof ConfigError || e instanceof AccountLookupError || e instanceof PlanFileError) return e.message;
  if (e instanceof MackerelNetworkError || e instanceof MackerelApiError) return mackerel(e, w);
  const tagged = marked(e);
  if (tagged?.service === 'DynamoDB') return dynamo(tagged.error, w);
  if (!(e instanceof Error)) return clipText(String(e), 500);
  // The SDK's words when neither AWS_REGION nor the profile names a region (the state table's).
  const hint = /region is missing/i.test(e.message) ? ' (set AWS_REGION to the region of the state table)' : '';
  return `${e.name}: ${clipText(e.message, 500)}${hint}`;
}
