/** infra/settings.cjs: every deployment parameter checked, a bad one named. Table-driven, one row per rule. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseCfnYaml } from './cfn.js';

type Settings = Record<string, unknown>;
const require = createRequire(import.meta.url);
const { settingsOf, PARAMS } = require('../../infra/settings.cjs') as {
  settingsOf(raw: Record<string, string | null>, deploymentRegion: string): Settings;
  PARAMS: string[];
};

const serverlessYml = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
const serverless = parseCfnYaml(serverlessYml) as unknown as { params: { default: Record<string, string> } };
const DEFAULTS = serverless.params.default;
const withParams = (over: Record<string, string | null>) => settingsOf({ ...DEFAULTS, ...over }, 'ap-northeast-1');

describe('deployment settings', () => {
  it('serverless.yml declares a default for exactly the parameters settings.cjs reads', () => {
    expect(Object.keys(DEFAULTS).sort()).toEqual([...PARAMS].sort());
  });

  it('the defaults are a dry-run, report-only first rollout in the deployment region', () => {
    expect(settingsOf(DEFAULTS, 'eu-west-1')).toEqual({
      regions: 'eu-west-1',
      regionList: ['eu-west-1'],
      inventoryRegions: ['eu-west-1'],
      sweepSchedule: 'rate(15 minutes)',
      dryRun: 'true',
      imdsRemediate: 'false',
      createEventBus: 'false',
      eventBusName: 'default',
      apiKeyParameter: '/mackerel-reconciler/api-key',
      apiKeyParameterArnPath: 'mackerel-reconciler/api-key',
      apiKeyKmsKeyArn: '',
      mackerelApiBase: 'https://api.mackerelio.com',
      maxRetirePerRun: '50',
      maxRetirePercent: '20',
      duplicateStaleMinutes: '30',
      terminatingHoldMinutes: '60',
      alarmTopicArn: '',
      alertmanagerUrl: '',
      alertmanagerAuthParameter: '',
      alertmanagerAuthParameterArnPath: '',
      alertmanagerInstanceLabel: 'instance_id',
      archiveRetentionDays: 30,
      logRetentionInDays: 30,
      logLevel: 'INFO',
      sweepMemorySize: 2048,
      graphAnnotations: 'true',
      agentRepair: 'false',
      silentMinutes: '15',
      agentRepairHours: '24',
    });
  });

  it.each([
    [
      'regions: a comma list, trimmed and de-duplicated',
      { regions: ' us-east-1 , eu-west-1,us-east-1' },
      { regions: 'us-east-1,eu-west-1', regionList: ['us-east-1', 'eu-west-1'] },
    ],
    ['booleans: any case', { dryRun: 'FALSE', imdsRemediate: 'True' }, { dryRun: 'false', imdsRemediate: 'true' }],
    ['agent repair switched on', { agentRepair: 'TRUE', agentRepairHours: '6' }, { agentRepair: 'true', agentRepairHours: '6' }],
    [
      'EC2 calls allowed in REGIONS and the deployment region, whose events arrive anyway',
      { regions: 'us-east-1' },
      { regions: 'us-east-1', inventoryRegions: ['ap-northeast-1', 'us-east-1'] },
    ],
    [
      'a dedicated findings bus',
      { createEventBus: 'true', eventBusName: 'mackerel-findings' },
      { createEventBus: 'true', eventBusName: 'mackerel-findings' },
    ],
    [
      'an SSM name without a leading slash keeps its ARN path',
      { apiKeyParameter: 'mackerel-api-key' },
      { apiKeyParameterArnPath: 'mackerel-api-key' },
    ],
    [
      'no Mackerel API key when Alertmanager is the only backend',
      { apiKeyParameter: '', alertmanagerUrl: 'https://alertmanager.example.com' },
      { apiKeyParameter: '', alertmanagerUrl: 'https://alertmanager.example.com' },
    ],
    ['a cron schedule', { sweepSchedule: 'cron(0/10 * * * ? *)' }, { sweepSchedule: 'cron(0/10 * * * ? *)' }],
    ['archive kept forever', { archiveRetentionDays: '0' }, { archiveRetentionDays: 0 }],
    [
      'circuit breaker limits',
      { maxRetirePerRun: '0', maxRetirePercent: '100' },
      { maxRetirePerRun: '0', maxRetirePercent: '100' },
    ],
  ])('accepts %s', (_rule, over, expected) => {
    expect(withParams(over)).toMatchObject(expected);
  });

  it.each([
    ['regions', { regions: 'us-east-1,mars' }, '--param regions: must be a comma list of AWS regions, got "mars"'],
    ['dryRun', { dryRun: 'maybe' }, '--param dryRun: must be true or false, got "maybe"'],
    ['alertmanagerUrl', { alertmanagerUrl: 'http://am.example.com' }, '--param alertmanagerUrl: must be an https URL or empty'],
    ['alertmanagerAuthParameter', { alertmanagerAuthParameter: 'bad name!' }, '--param alertmanagerAuthParameter: must be an SSM'],
    ['alertmanagerInstanceLabel', { alertmanagerInstanceLabel: 'instance-id' }, '--param alertmanagerInstanceLabel: must be a Prometheus label name'],
    ['imdsRemediate', { imdsRemediate: 'yes' }, '--param imdsRemediate: must be true or false'],
    ['agentRepair', { agentRepair: 'on' }, '--param agentRepair: must be true or false'],
    ['silentMinutes zero', { silentMinutes: '0' }, '--param silentMinutes: must be a whole number from 1'],
    ['createEventBus needs a bus name', { createEventBus: 'true' }, '--param createEventBus: needs --param eventBusName='],
    ['eventBusName', { eventBusName: 'no spaces' }, '--param eventBusName: must be an EventBridge bus name'],
    ['apiKeyParameter', { apiKeyParameter: 'bad name!' }, '--param apiKeyParameter: must be an SSM parameter name'],
    [
      'apiKeyParameter empty without Alertmanager',
      { apiKeyParameter: '' },
      '--param apiKeyParameter: is required unless alertmanagerUrl is set (Alertmanager alone)',
    ],
    ['apiKeyKmsKeyArn', { apiKeyKmsKeyArn: 'alias/aws/ssm' }, '--param apiKeyKmsKeyArn: must be a KMS key ARN or empty'],
    ['mackerelApiBase over http', { mackerelApiBase: 'http://x.io' }, '--param mackerelApiBase: must be an https URL'],
    ['mackerelApiBase not a URL', { mackerelApiBase: 'api.mackerelio.com' }, '--param mackerelApiBase: must be an https URL'],
    [
      'maxRetirePercent over 100',
      { maxRetirePercent: '101' },
      '--param maxRetirePercent: must be a whole number from 0 to 100, got "101"',
    ],
    ['maxRetirePerRun a fraction', { maxRetirePerRun: '1.5' }, '--param maxRetirePerRun: must be a whole number'],
    [
      'duplicateStaleMinutes zero',
      { duplicateStaleMinutes: '0' },
      '--param duplicateStaleMinutes: must be a whole number from 1',
    ],
    ['sweepSchedule', { sweepSchedule: 'rate(1 minutes)' }, '--param sweepSchedule: must be rate(…) or cron(…)'],
    ['alarmTopicArn', { alarmTopicArn: 'ops-topic' }, '--param alarmTopicArn: must be an SNS topic ARN or empty'],
    ['logRetentionInDays', { logRetentionInDays: '10' }, '--param logRetentionInDays: must be one of 1, 3, 5'],
    ['logLevel', { logLevel: 'LOUD' }, '--param logLevel: must be one of DEBUG, INFO, WARN, ERROR'],
    ['sweepMemorySize', { sweepMemorySize: '256' }, '--param sweepMemorySize'],
    ['a missing parameter', { maxRetirePerRun: null }, '--param maxRetirePerRun: is required'],
  ])('rejects a bad %s, naming it', (_rule, over, message) => {
    expect(() => withParams(over)).toThrow(message);
  });

  // osls prints a settings function's error by its `stack`: one line, no JavaScript trace, the value clipped.
  it('a bad parameter is one line for osls (its stack is its message), a huge value clipped', () => {
    const error = (() => {
      try {
        withParams({ regions: `tokyo${'x'.repeat(10_000)}` });
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(error.stack).toBe(`ParamError: ${error.message}`);
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(error.message.length).toBeLessThan(250);
  });
});
