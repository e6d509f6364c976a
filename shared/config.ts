import { z } from 'zod';
import { checkUrl } from './alertmanager/client.js';
import { AlertmanagerConfigError } from './alertmanager/errors.js';
import type { Settings } from './reconcile/ports.js';

/** Thrown when the environment is wrong: names the variable, never echoes a secret. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const bool = (name: string, fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const s = v.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(s)) return true;
      if (['false', '0', 'no'].includes(s)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` });
      return z.NEVER;
    });

const num = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a number from ${min} to ${max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

const EnvSchema = z.object({
  MACKEREL_APIKEY: z.string().optional(),
  MACKEREL_APIKEY_PARAMETER: z.string().optional(),
  MACKEREL_APIBASE: z.string().optional(),
  STATE_TABLE: z
    .string({ error: 'STATE_TABLE is required (the DynamoDB table name)' })
    .min(1, 'STATE_TABLE is empty'),
  EVENT_BUS_NAME: z.string().optional(),
  REGIONS: z.string().optional(),
  AWS_REGION: z.string().optional(),
  DRY_RUN: bool('DRY_RUN', false),
  MAX_RETIRE_PER_RUN: num('MAX_RETIRE_PER_RUN', 50, 0, 1_000_000),
  MAX_RETIRE_PERCENT: num('MAX_RETIRE_PERCENT', 20, 0, 100),
  DUPLICATE_STALE_MINUTES: num('DUPLICATE_STALE_MINUTES', 30, 1, 60 * 24 * 365),
  IMDS_REMEDIATE: bool('IMDS_REMEDIATE', false),
  GRAPH_ANNOTATIONS: bool('GRAPH_ANNOTATIONS', true),
  ALERTMANAGER_URL: z.string().optional(),
  ALERTMANAGER_AUTH_PARAMETER: z.string().optional(),
  ALERTMANAGER_INSTANCE_LABEL: z.string().optional(),
  SILENT_MINUTES: num('SILENT_MINUTES', 15, 1, 60 * 24 * 30),
  AGENT_REPAIR: bool('AGENT_REPAIR', false),
  AGENT_REPAIR_HOURS: num('AGENT_REPAIR_HOURS', 24, 1, 24 * 365),
  TERMINATING_HOLD_MINUTES: num('TERMINATING_HOLD_MINUTES', 60, 1, 60 * 24),
});

/** The deployment's configuration: what a run reads (`Settings`), and where its adapters connect. */
export interface Config extends Settings {
  apiKey?: string;
  apiKeyParameter?: string;
  apiBase: string;
  stateTable: string;
  eventBusName: string;
  /** the Alertmanager backend; absent while ALERTMANAGER_URL is unset */
  alertmanager?: AlertmanagerConfig;
}

export interface AlertmanagerConfig {
  url: string;
  /** SSM SecureString holding `Bearer <token>` or `user:password` */
  authParameter?: string;
  instanceLabel: string;
}

/** ALERTMANAGER_*: https unless loopback (as for Mackerel), a label name Prometheus accepts. */
function alertmanagerOf(e: z.infer<typeof EnvSchema>): AlertmanagerConfig | undefined {
  const url = e.ALERTMANAGER_URL?.trim();
  if (!url) return undefined;
  const instanceLabel = e.ALERTMANAGER_INSTANCE_LABEL?.trim() || 'instance_id';
  try {
    checkUrl(url);
  } catch (err) {
    throw new ConfigError(`invalid environment: ${err instanceof AlertmanagerConfigError ? err.message : String(err)}`);
  }
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(instanceLabel)) {
    throw new ConfigError(`invalid environment: ALERTMANAGER_INSTANCE_LABEL must be a label name, got "${instanceLabel.slice(0, 64)}"`);
  }
  const authParameter = e.ALERTMANAGER_AUTH_PARAMETER?.trim() || undefined;
  return { url, instanceLabel, ...(authParameter ? { authParameter } : {}) };
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** An AWS region name such as ap-northeast-1 (the shape only: it may not exist). */
export const isRegion = (name: string) => REGION.test(name);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid environment: ${msg}`);
  }
  const e = parsed.data;
  const apiKey = e.MACKEREL_APIKEY?.trim() || undefined;
  const apiKeyParameter = e.MACKEREL_APIKEY_PARAMETER?.trim() || undefined;
  const alertmanager = alertmanagerOf(e);
  if (!apiKey && !apiKeyParameter && !alertmanager) {
    throw new ConfigError(
      'invalid environment: set MACKEREL_APIKEY or MACKEREL_APIKEY_PARAMETER (Mackerel), or ALERTMANAGER_URL (Alertmanager), or both',
    );
  }
  const regions = (e.REGIONS ?? e.AWS_REGION ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (regions.length === 0) throw new ConfigError('invalid environment: REGIONS (or AWS_REGION) is required');
  const bad = regions.filter((r) => !REGION.test(r));
  if (bad.length > 0)
    throw new ConfigError(`invalid environment: REGIONS has an invalid region: ${bad.join(', ')}`);
  return {
    apiKey,
    apiKeyParameter,
    apiBase: e.MACKEREL_APIBASE?.trim() || 'https://api.mackerelio.com',
    stateTable: e.STATE_TABLE,
    eventBusName: e.EVENT_BUS_NAME?.trim() || 'default',
    regions: [...new Set(regions)],
    dryRun: e.DRY_RUN,
    maxRetirePerRun: e.MAX_RETIRE_PER_RUN,
    maxRetirePercent: e.MAX_RETIRE_PERCENT,
    duplicateStaleMinutes: e.DUPLICATE_STALE_MINUTES,
    imdsRemediate: e.IMDS_REMEDIATE,
    graphAnnotations: e.GRAPH_ANNOTATIONS,
    ...(alertmanager ? { alertmanager } : {}),
    silentMinutes: e.SILENT_MINUTES,
    agentRepair: e.AGENT_REPAIR,
    agentRepairHours: e.AGENT_REPAIR_HOURS,
    terminatingHoldMinutes: e.TERMINATING_HOLD_MINUTES,
  };
}
