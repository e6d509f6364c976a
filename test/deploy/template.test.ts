/**
 * The deployment as CloudFormation would receive it: `serverless package` (osls + serverless-esbuild) is run here,
 * offline and without AWS credentials, twice (the defaults, and every optional switch on), and the generated
 * template and artifacts are checked: triggers, table, DLQ, archive, alarms, least-privilege IAM, runtime, and
 * bundles that load and reconcile the sandbox's fleet from a fresh Node process with the template's environment.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ec2StateChangeEvent,
  type FakeInstance,
  type Sandbox,
  scheduledEvent,
  startSandbox,
} from '../../sandbox/index.js';
import { FINDINGS_SOURCE } from '../../shared/findings/publish.js';
import { FakeSsm } from '../../sandbox/ssm-server.js';
import { evaluate, type Json, type JsonObject, parseCfnYaml, policyStatements, type Template } from './cfn.js';
import { readZip } from './zip.js';
import { dashboardMetrics, emitted } from './dashboard.js';
import type { Report } from '../../shared/reconcile/run.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OSLS = join(ROOT, 'node_modules/osls/bin/serverless.js');
const FUNCTIONS = ['instance-state-change', 'sweep', 'replay'] as const;
type FunctionKey = (typeof FUNCTIONS)[number];
const LOGICAL = {
  'instance-state-change': 'InstanceDashstateDashchangeLambdaFunction',
  sweep: 'SweepLambdaFunction',
  replay: 'ReplayLambdaFunction',
} as const;
const ROLE = {
  'instance-state-change': 'InstanceStateChangeRole',
  sweep: 'SweepRole',
  replay: 'ReplayRole',
  'task-state-change': 'TaskStateChangeRole',
} as const;
const STATE_CHANGE_PATTERN = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] };

const VARIANT_PARAMS = {
  imdsRemediate: 'true',
  agentRepair: 'true',
  createEventBus: 'true',
  eventBusName: 'mackerel-findings',
  alarmTopicArn: 'arn:aws:sns:us-west-2:123456789012:ops',
  apiKeyKmsKeyArn: 'arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  regions: 'us-west-2,eu-west-1',
  dryRun: 'false',
  sweepSchedule: 'rate(5 minutes)',
  alertmanagerUrl: 'https://alertmanager.example.com',
  alertmanagerAuthParameter: '/prometheus/alertmanager-auth',
};

/** Offline, as CI would: no AWS credentials, profile or region in the environment. */
function oslsEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
}

/**
 * Packages a copy of the service (its sources, node_modules linked) and returns the output directory: osls wipes
 * the service's `.serverless/` and serverless-esbuild works in `.esbuild/`, so building in place would clobber a
 * developer's `npm run package` output, and never depends on it.
 */
async function packageCopy(name: string, args: string[]): Promise<string> {
  const dir = join(work, name);
  for (const entry of ['serverless.yml', 'package.json', 'tsconfig.json', 'infra', 'functions', 'shared']) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await run(process.execPath, [OSLS, 'package', ...args], { cwd: dir, env: oslsEnv(), maxBuffer: 16 * 1024 * 1024 });
  return join(dir, '.serverless');
}

const work = mkdtempSync(join(tmpdir(), 'mackerel-reconciler-package-'));
let defaultDir: string;
let variantDir: string;
let raw: Template; // as generated
let tpl: Template; // as deployed with the defaults
let variant: Template; // as deployed with every switch on

const template = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
const resourcesOf = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const props = (t: Template, id: string): JsonObject => {
  const r = t.Resources[id];
  if (!r) throw new Error(`no resource ${id}; have ${Object.keys(t.Resources).join(', ')}`);
  return r.Properties ?? {};
};
const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });
const invokeConfigOf = (fnLogicalId: string) =>
  resourcesOf(tpl, 'AWS::Lambda::EventInvokeConfig').find(
    ([, r]) => JSON.stringify(r.Properties?.FunctionName) === JSON.stringify({ Ref: fnLogicalId }),
  )?.[1].Properties;
const sub = (s: string) => ({ 'Fn::Sub': s });
const EVENTS_ARN = 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}';

beforeAll(async () => {
  console.log(`packaging copies of the service in ${work}`);
  // One after the other: the machine's cores are shared.
  defaultDir = await packageCopy('default', ['--stage', 'ci']);
  variantDir = await packageCopy('variant', [
    '--stage',
    'prod',
    '--region',
    'us-west-2',
    ...Object.entries(VARIANT_PARAMS).map(([k, v]) => `--param=${k}=${v}`),
  ]);
  raw = template(defaultDir);
  tpl = evaluate(raw);
  variant = evaluate(template(variantDir));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('serverless package', () => {
  it('a bad parameter stops the build, naming it', async () => {
    const failed = await packageCopy('bad', ['--stage', 'ci', '--param=dryRun=maybe']).then(
      () => undefined,
      (e: { code?: number; stdout?: string; stderr?: string }) => e,
    );
    expect(failed?.code).not.toBe(0);
    expect(`${failed?.stdout}${failed?.stderr}`).toContain('--param dryRun: must be true or false, got "maybe"');
  });

  it('functions: nodejs22.x on arm64, each with its own role and the environment the code reads', () => {
    const configVars = [
      ...readFileSync(join(ROOT, 'shared/config.ts'), 'utf8').matchAll(/^\s{2}([A-Z_]+): /gm),
    ].map((m) => m[1]);
    for (const fn of FUNCTIONS) {
      const p = props(tpl, LOGICAL[fn]);
      expect(p).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: `functions/${fn}/handler.handler`,
        FunctionName: `mackerel-reconciler-ci-${fn}`,
        Role: getAtt(ROLE[fn]),
      });
      const env = (p.Environment as { Variables: Record<string, Json> }).Variables;
      expect(env).toEqual({
        STATE_TABLE: { Ref: 'StateTable' },
        MACKEREL_APIKEY_PARAMETER: '/mackerel-reconciler/api-key',
        MACKEREL_APIBASE: 'https://api.mackerelio.com',
        EVENT_BUS_NAME: 'default',
        REGIONS: 'ap-northeast-1',
        DRY_RUN: 'true',
        IMDS_REMEDIATE: { Ref: 'ImdsRemediate' },
        MAX_RETIRE_PER_RUN: '50',
        MAX_RETIRE_PERCENT: '20',
        DUPLICATE_STALE_MINUTES: '30',
        GRAPH_ANNOTATIONS: 'true',
        ALERTMANAGER_URL: '',
        ALERTMANAGER_AUTH_PARAMETER: '',
        ALERTMANAGER_INSTANCE_LABEL: 'instance_id',
        SILENT_MINUTES: '15',
        AGENT_REPAIR: { Ref: 'AgentRepair' },
        AGENT_REPAIR_HOURS: '24',
        TERMINATING_HOLD_MINUTES: '60',
        LOG_LEVEL: 'INFO',
        POWERTOOLS_SERVICE_NAME: 'mackerel-reconciler',
        POWERTOOLS_METRICS_NAMESPACE: 'MackerelReconciler',
        NODE_OPTIONS: '--enable-source-maps',
      });
      // Every reconciler variable is one shared/config.ts reads (AWS_REGION comes from Lambda itself).
      const own = Object.keys(env).filter(
        (k) => !k.startsWith('POWERTOOLS_') && !['LOG_LEVEL', 'NODE_OPTIONS'].includes(k),
      );
      expect(configVars).toEqual(expect.arrayContaining(own));
    }
    // osls' shared default role is not created: every function has its own.
    expect(resourcesOf(raw, 'AWS::IAM::Role').map(([id]) => id).sort()).toEqual(Object.values(ROLE).sort());
    const variantEnv = (props(variant, 'SweepLambdaFunction').Environment as { Variables: Record<string, Json> })
      .Variables;
    expect(variantEnv).toMatchObject({
      DRY_RUN: 'false',
      REGIONS: 'us-west-2,eu-west-1',
      EVENT_BUS_NAME: 'mackerel-findings',
    });
    expect(template(variantDir).Parameters?.ImdsRemediate?.Default).toBe('true');
    expect(template(variantDir).Parameters?.AgentRepair?.Default).toBe('true');
  });

  it('instance-state-change: the EC2 state-change rule with retries and the DLQ; Lambda retries into it too', () => {
    const rules = resourcesOf(tpl, 'AWS::Events::Rule').filter(
      ([, r]) => r.Properties?.Name === 'mackerel-reconciler-ci-ec2-state-change',
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0]![1].Properties!;
    expect(rule).toMatchObject({
      Name: 'mackerel-reconciler-ci-ec2-state-change',
      EventPattern: STATE_CHANGE_PATTERN,
      State: 'ENABLED',
      Targets: [
        {
          Arn: getAtt(LOGICAL['instance-state-change']),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: getAtt('DeadLetterQueue') },
        },
      ],
    });
    expect(rule.EventBusName).toBeUndefined(); // the default bus, where EC2 publishes
    expect(props(tpl, LOGICAL['instance-state-change'])).toMatchObject({
      Timeout: 60,
      MemorySize: 512,
      DeadLetterConfig: { TargetArn: getAtt('DeadLetterQueue') },
    });
    expect(invokeConfigOf(LOGICAL['instance-state-change'])).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
    // EventBridge may send to the DLQ for this rule (the #12 rules have a statement of their own, tested below).
    expect((props(tpl, 'DeadLetterQueuePolicy').PolicyDocument as { Statement: Json[] }).Statement[0]).toMatchObject(
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: getAtt('DeadLetterQueue'),
          Condition: {
            ArnEquals: {
              'aws:SourceArn': sub(
                `${EVENTS_ARN}:rule/mackerel-reconciler-ci-ec2-state-change`,
              ),
            },
          },
        },
    );
    expect(props(tpl, 'DeadLetterQueue')).toEqual({
      QueueName: 'mackerel-reconciler-ci-dlq',
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
  });

  it('sweep: on the schedule parameter, one at a time, 15 minutes, not retried', () => {
    const schedules = resourcesOf(tpl, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.ScheduleExpression);
    expect(schedules.map(([, r]) => r.Properties)).toMatchObject([
      { ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED', Targets: [{ Arn: getAtt('SweepLambdaFunction') }] },
    ]);
    expect(
      resourcesOf(variant, 'AWS::Events::Rule')
        .map(([, r]) => r.Properties?.ScheduleExpression)
        .filter(Boolean),
    ).toEqual(['rate(5 minutes)']);
    expect(props(tpl, 'SweepLambdaFunction')).toMatchObject({ Timeout: 900, ReservedConcurrentExecutions: 1, MemorySize: 2048 });
    expect(invokeConfigOf('SweepLambdaFunction')).toMatchObject({ MaximumRetryAttempts: 0 });
  });

  it('replay: invoke only, no trigger of any kind', () => {
    const TRIGGER_TYPES = [
      'AWS::Events::Rule',
      'AWS::Lambda::Permission',
      'AWS::Lambda::EventSourceMapping',
      'AWS::Scheduler::Schedule',
      'AWS::Lambda::Url',
    ];
    const mentionsReplay = (r: Json) => JSON.stringify(r).includes(`"${LOGICAL.replay}"`);
    const triggers = Object.entries(tpl.Resources).filter(
      ([, r]) =>
        TRIGGER_TYPES.includes(r.Type) && mentionsReplay(r as Json),
    );
    expect(triggers).toEqual([]);
    expect(props(tpl, LOGICAL.replay)).toMatchObject({ Timeout: 900, MemorySize: 2048 });
  });

  it('state table: pk/sk strings, on demand, TTL on expiresAt, point-in-time recovery, retained', () => {
    const table = tpl.Resources.StateTable!;
    expect(table).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(table.Properties?.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('archive: the state-change pattern on the default bus, so events can be replayed natively', () => {
    expect(props(tpl, 'StateChangeArchive')).toEqual({
      ArchiveName: 'mackerel-reconciler-ci-ec2',
      Description: expect.any(String),
      SourceArn: sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
      EventPattern: STATE_CHANGE_PATTERN,
      RetentionDays: 30,
    });
    expect(Object.keys(raw.Outputs ?? {})).toEqual(
      expect.arrayContaining([
        'StateChangeArchiveArn',
        'StateChangeRuleArn',
        'DefaultEventBusArn',
        'DeadLetterQueueUrl',
        'StateTableName',
      ]),
    );
  });

  it('findings bus: the default bus unless asked, then created with the name given', () => {
    expect(resourcesOf(tpl, 'AWS::Events::EventBus')).toEqual([]);
    expect(resourcesOf(variant, 'AWS::Events::EventBus').map(([, r]) => r.Properties)).toEqual([
      { Name: 'mackerel-findings' },
    ]);
  });

  it('alarms: errors of each function, sweep throttles, a non-empty DLQ; actions only with a topic', () => {
    const alarms = Object.fromEntries(
      resourcesOf(tpl, 'AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties!.AlarmName as string, r.Properties!]),
    );
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'mackerel-reconciler-ci-dlq-not-empty',
        'mackerel-reconciler-ci-instance-state-change-errors',
        'mackerel-reconciler-ci-replay-errors',
        'mackerel-reconciler-ci-sweep-errors',
        'mackerel-reconciler-ci-sweep-throttles',
        'mackerel-reconciler-ci-task-state-change-errors',
      ].sort(),
    );
    for (const fn of [...FUNCTIONS, 'task-state-change']) {
      expect(alarms[`mackerel-reconciler-ci-${fn}-errors`]).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: `mackerel-reconciler-ci-${fn}` }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    expect(alarms['mackerel-reconciler-ci-dlq-not-empty']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt('DeadLetterQueue', 'QueueName') }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    for (const alarm of Object.values(alarms)) expect(alarm.AlarmActions).toBeUndefined();
    for (const [, alarm] of resourcesOf(variant, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties).toMatchObject({
        AlarmActions: [{ Ref: 'AlarmTopicArn' }],
        OKActions: [{ Ref: 'AlarmTopicArn' }],
      });
    }
  });
});

describe('least-privilege IAM', () => {
  const statementsOf = (t: Template, holder: string) => policyStatements(t).filter((s) => s.holder === holder);
  const actionsOf = (t: Template, holder: string) => statementsOf(t, holder).flatMap((s) => s.Action).sort();

  /** The DynamoDB actions the DynamoDB ledger needs, read from the commands it sends. */
  function storeActions(): string[] {
    const source = ['shared/state/dynamo-ledger.ts', 'shared/state/update-expression.ts']
      .map((f) => readFileSync(join(ROOT, f), 'utf8'))
      .join('\n');
    const commands = new Set([
      ...[...source.matchAll(/\b([A-Z][A-Za-z]*)Command\b/g)].map((m) => m[1]!),
      ...[...source.matchAll(/\bpaginate([A-Z][A-Za-z]*)\b/g)].map((m) => m[1]!),
    ]);
    const iam: Record<string, string> = {
      Get: 'GetItem',
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      Query: 'Query',
      Scan: 'Scan',
      BatchGet: 'BatchGetItem',
      BatchWrite: 'BatchWriteItem',
    };
    return [...commands].map((c) => {
      const action = iam[c];
      if (!action) throw new Error(`the DynamoDB ledger sends ${c}Command: grant it in infra/iam.yml and map it here`);
      return `dynamodb:${action}`;
    });
  }

  it.each([
    ['defaults', () => tpl],
    ['every switch on', () => variant],
  ])('no wildcard action, and no wildcard resource but the reads that have no resource type (%s)', (_name, t) => {
    const allows = policyStatements(t()).filter((s) => s.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(10);
    for (const s of allows) {
      const where = `${s.holder}/${s.Sid ?? '?'}`;
      for (const action of s.Action) expect(action, where).not.toContain('*');
      // X-Ray's trace writes have no resource-level permissions either (tracing, provider.tracing.lambda)
      if (s.Sid === 'WriteTraces') {
        expect(s.Action, where).toEqual(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
        continue;
      }
      if (s.Resource.some((r) => r === '*')) {
        // None of these reads has a resource type in IAM's service authorization reference.
        expect([['ec2:DescribeInstances'], ['ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation']], `${where}: only reads without a resource type may use Resource "*"`).toContainEqual(s.Action);
        expect(s.Condition, `${where}: held to the configured regions`).toHaveProperty([
          'StringEquals',
          'aws:RequestedRegion',
        ]);
      }
      for (const r of s.Resource) expect(r, where).not.toEqual('');
    }
  });

  const LOGS_ARN = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}';

  it('each role: its own log group, the inventory in REGIONS, the one table, bus and parameter', () => {
    for (const fn of FUNCTIONS) {
      const byId = Object.fromEntries(statementsOf(tpl, ROLE[fn]).map((s) => [s.Sid, s]));
      expect(byId.WriteOwnLogs).toMatchObject({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [
          sub(`${LOGS_ARN}:log-group:/aws/lambda/mackerel-reconciler-ci-${fn}:*`),
        ],
      });
      expect(byId.ReadInventory).toMatchObject({
        Action: ['ec2:DescribeInstances'],
        Resource: ['*'],
        Condition: { StringEquals: { 'aws:RequestedRegion': ['ap-northeast-1'] } },
      });
      expect(byId.StateTable?.Resource).toEqual([getAtt('StateTable')]);
      expect(byId.PublishFindings).toMatchObject({
        Action: ['events:PutEvents'],
        Resource: [sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default')],
        // Only what the code publishes as.
        Condition: { StringEquals: { 'events:source': FINDINGS_SOURCE } },
      });
      expect(byId.ReadApiKey).toMatchObject({
        Action: ['ssm:GetParameter'],
        Resource: [
          sub('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/mackerel-reconciler/api-key'),
        ],
      });
      // Off by default: no remediation grant, no KMS grant (the aws/ssm key needs none).
      expect(byId.RemediateImds).toBeUndefined();
      expect(byId.DecryptApiKey).toBeUndefined();
      const v = Object.fromEntries(statementsOf(variant, ROLE[fn]).map((s) => [s.Sid, s]));
      expect(v.ReadInventory?.Condition).toEqual({
        StringEquals: { 'aws:RequestedRegion': ['us-west-2', 'eu-west-1'] },
      });
      expect(v.PublishFindings?.Resource).toEqual([
        sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/mackerel-findings'),
      ]);
      expect(v.DecryptApiKey).toMatchObject({
        Action: ['kms:Decrypt'],
        Resource: [{ Ref: 'ApiKeyKmsKeyArn' }],
        Condition: { StringEquals: { 'kms:ViaService': sub('ssm.${AWS::Region}.amazonaws.com') } },
      });
    }
  });

  it('Mackerel off (Alertmanager alone): the API key grant exists only while apiKeyParameter is set', () => {
    expect(raw.Conditions?.HasApiKeyParameter).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ApiKeyParameter' }, ''] }] });
    expect(raw.Parameters?.ApiKeyParameter?.Default).toBe('/mackerel-reconciler/api-key');
    for (const fn of [...FUNCTIONS, 'task-state-change'] as const) {
      const doc = (raw.Resources[ROLE[fn]]!.Properties!.Policies as JsonObject[])[0]!.PolicyDocument as JsonObject;
      const read = (doc.Statement as Json[]).filter((s) => JSON.stringify(s).includes('"ReadApiKey"'));
      expect(read).toMatchObject([{ 'Fn::If': ['HasApiKeyParameter', { Sid: 'ReadApiKey' }, { Ref: 'AWS::NoValue' }] }]);
    }
  });

  it('Alertmanager: its variables, and ssm:GetParameter on its credential only when one is configured', () => {
    for (const fn of FUNCTIONS) {
      const byId = Object.fromEntries(statementsOf(tpl, ROLE[fn]).map((s) => [s.Sid, s]));
      expect(byId.ReadAlertmanagerAuth).toBeUndefined();
      const v = Object.fromEntries(statementsOf(variant, ROLE[fn]).map((s) => [s.Sid, s]));
      expect(v.ReadAlertmanagerAuth).toMatchObject({
        Action: ['ssm:GetParameter'],
        Resource: [sub('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/prometheus/alertmanager-auth')],
      });
      const env = (props(variant, LOGICAL[fn]).Environment as { Variables: Record<string, Json> }).Variables;
      expect(env).toMatchObject({
        ALERTMANAGER_URL: 'https://alertmanager.example.com',
        ALERTMANAGER_AUTH_PARAMETER: '/prometheus/alertmanager-auth',
        ALERTMANAGER_INSTANCE_LABEL: 'instance_id',
      });
    }
  });

  it('ModifyInstanceMetadataOptions: only if ImdsRemediate, on instances, never opted-out ones', () => {
    const statement = {
      Sid: 'RemediateImds',
      Effect: 'Allow',
      Action: 'ec2:ModifyInstanceMetadataOptions',
      Resource: sub('arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*'),
      Condition: {
        StringEquals: { 'aws:RequestedRegion': ['ap-northeast-1'] },
        StringNotEqualsIgnoreCase: { 'aws:ResourceTag/mackerel-reconciler:ignore': 'true' },
      },
    };
    expect(raw.Conditions?.ImdsRemediateOn).toEqual({ 'Fn::Equals': [{ Ref: 'ImdsRemediate' }, 'true'] });
    for (const fn of FUNCTIONS) {
      const doc = (raw.Resources[ROLE[fn]]!.Properties!.Policies as JsonObject[])[0]!.PolicyDocument as JsonObject;
      const modify = (doc.Statement as Json[]).filter((s) =>
        JSON.stringify(s).includes('ModifyInstanceMetadataOptions'),
      );
      expect(modify).toEqual([{ 'Fn::If': ['ImdsRemediateOn', statement, { Ref: 'AWS::NoValue' }] }]);
      expect(actionsOf(tpl, ROLE[fn])).not.toContain('ec2:ModifyInstanceMetadataOptions');
      expect(actionsOf(variant, ROLE[fn])).toContain('ec2:ModifyInstanceMetadataOptions');
    }
  });

  it('SSM: reads which instances it manages and results always; SendCommand only if AgentRepair, AWS-RunShellScript on own instances', () => {
    const statement = {
      Sid: 'RepairAgents',
      Effect: 'Allow',
      Action: 'ssm:SendCommand',
      Resource: [
        sub('arn:${AWS::Partition}:ssm:*::document/AWS-RunShellScript'),
        sub('arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*'),
      ],
      Condition: {
        StringEquals: { 'aws:RequestedRegion': ['ap-northeast-1'] },
        StringNotEqualsIgnoreCase: { 'aws:ResourceTag/mackerel-reconciler:ignore': 'true' },
      },
    };
    expect(raw.Conditions?.AgentRepairOn).toEqual({ 'Fn::Equals': [{ Ref: 'AgentRepair' }, 'true'] });
    for (const fn of FUNCTIONS) {
      const doc = (raw.Resources[ROLE[fn]]!.Properties!.Policies as JsonObject[])[0]!.PolicyDocument as JsonObject;
      const send = (doc.Statement as Json[]).filter((s) => JSON.stringify(s).includes('ssm:SendCommand'));
      expect(send).toEqual([{ 'Fn::If': ['AgentRepairOn', statement, { Ref: 'AWS::NoValue' }] }]);
      for (const t of [tpl, variant]) {
        expect(actionsOf(t, ROLE[fn])).toEqual(expect.arrayContaining(['ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation']));
      }
      expect(actionsOf(tpl, ROLE[fn])).not.toContain('ssm:SendCommand');
      expect(actionsOf(variant, ROLE[fn])).toContain('ssm:SendCommand');
    }
  });

  it('DynamoDB: what the ledger sends; the event path never scans nor takes the sweep lease, the sweep never queries', () => {
    const needed = storeActions();
    const dynamo = (fn: FunctionKey) => actionsOf(tpl, ROLE[fn]).filter((a) => a.startsWith('dynamodb:'));
    const sweepOnly = ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];
    expect(dynamo('replay')).toEqual([...needed].sort());
    expect(dynamo('instance-state-change')).toEqual(needed.filter((a) => !sweepOnly.includes(a)).sort());
    expect(dynamo('sweep')).toEqual(needed.filter((a) => a !== 'dynamodb:Query').sort());
  });

  it('only the event function may write to the DLQ (Lambda dead letters use its role)', () => {
    for (const fn of FUNCTIONS) {
      const sqs = statementsOf(tpl, ROLE[fn]).filter((s) => s.Action.some((a) => a.startsWith('sqs:')));
      if (fn === 'instance-state-change') {
        expect(sqs).toMatchObject([{ Action: ['sqs:SendMessage'], Resource: [getAtt('DeadLetterQueue')] }]);
      } else expect(sqs).toEqual([]);
    }
  });
});

describe('ECS tasks and early signals (#12)', () => {
  const ruleNamed = (t: Template, name: string) =>
    resourcesOf(t, 'AWS::Events::Rule').find(([, r]) => r.Properties?.Name === name)?.[1].Properties;
  const TASK_FN = 'TaskDashstateDashchangeLambdaFunction';

  it('Spot warnings and ASG terminate lifecycle actions go to instance-state-change, with retries and the DLQ', () => {
    for (const [name, pattern] of [
      ['spot-interruption', { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] }],
      ['asg-terminate', { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance-terminate Lifecycle Action'] }],
    ] as const) {
      expect(ruleNamed(tpl, `mackerel-reconciler-ci-${name}`)).toMatchObject({
        EventPattern: pattern,
        State: 'ENABLED',
        Targets: [
          {
            Arn: getAtt(LOGICAL['instance-state-change']),
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: getAtt('DeadLetterQueue') },
          },
        ],
      });
    }
  });

  it('task-state-change: stopped ECS tasks only, its own role, retries into the DLQ, an errors alarm', () => {
    expect(ruleNamed(tpl, 'mackerel-reconciler-ci-ecs-task-stopped')).toMatchObject({
      EventPattern: { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'], detail: { lastStatus: ['STOPPED'] } },
      Targets: [{ Arn: getAtt(TASK_FN), DeadLetterConfig: { Arn: getAtt('DeadLetterQueue') } }],
    });
    expect(props(tpl, TASK_FN)).toMatchObject({
      Handler: 'functions/task-state-change/handler.handler',
      Runtime: 'nodejs22.x',
      Role: getAtt('TaskStateChangeRole'),
      Timeout: 60,
      DeadLetterConfig: { TargetArn: getAtt('DeadLetterQueue') },
    });
    expect(invokeConfigOf(TASK_FN)).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
    const dlq = JSON.stringify(props(tpl, 'DeadLetterQueuePolicy'));
    for (const r of ['spot-interruption', 'asg-terminate', 'ecs-task-stopped']) expect(dlq).toContain(`rule/mackerel-reconciler-ci-${r}`);
  });

  it('ecs:DescribeTasks: this account’s tasks in the configured regions, for the sweep, replay and task functions only', () => {
    const statements = policyStatements(tpl);
    const describe = statements.filter((s) => s.Action.includes('ecs:DescribeTasks'));
    expect(describe.map((s) => s.holder).sort()).toEqual(['ReplayRole', 'SweepRole', 'TaskStateChangeRole']);
    for (const s of describe) {
      expect(s.Action).toEqual(['ecs:DescribeTasks']);
      expect(s.Resource).toEqual([sub('arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task/*')]);
      expect(s.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['ap-northeast-1'] } });
    }
    const v = policyStatements(variant).find((s) => s.holder === 'TaskStateChangeRole' && s.Sid === 'ReadTasks');
    expect(v?.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-west-2', 'eu-west-1'] } });
    // the task path: no EC2 inventory, no Scan/Query, no lease; never any Auto Scaling action anywhere
    const task = statements.filter((s) => s.holder === 'TaskStateChangeRole').flatMap((s) => s.Action).sort();
    expect(task).toEqual(
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'ecs:DescribeTasks', 'events:PutEvents', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage', 'ssm:GetParameter', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'].sort(),
    );
    expect(statements.flatMap((s) => s.Action).some((a) => a.startsWith('autoscaling:'))).toBe(false);
  });
});

describe('artifacts', () => {
  let sb: Sandbox;
  let ssm: FakeSsm;
  const extracted = join(work, 'extracted');

  beforeAll(async () => {
    const seed = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`seed ${seed}`);
    sb = await startSandbox({ seed });
    ssm = new FakeSsm(sb.accountId);
    await ssm.start();
    ssm.put('/mackerel-reconciler/api-key', sb.mackerel.apiKey);
  });
  afterAll(async () => {
    await ssm?.stop();
    await sb?.stop();
  });

  /** Unzips a function's artifact outside the repository (no node_modules to fall back on). */
  function unpack(fn: FunctionKey): { dir: string; handler: string; entries: Map<string, Buffer> } {
    const entries = readZip(join(defaultDir, `${fn}.zip`));
    const dir = join(extracted, fn);
    for (const [name, data] of entries) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    return { dir, handler: join(dir, `functions/${fn}/handler.mjs`), entries };
  }

  const RUNNER = `
    import { randomUUID } from 'node:crypto';
    import { pathToFileURL } from 'node:url';
    const [bundle, arn, event] = process.argv.slice(1);
    const mod = await import(pathToFileURL(bundle).href);
    if (arn === 'exports') {
      const types = Object.fromEntries(Object.entries(mod).map(([k, v]) => [k, typeof v]));
      process.stdout.write('\\nEXPORTS ' + JSON.stringify(types) + '\\n');
    } else {
      const functionName = arn.split(':').pop();
      const context = {
        functionName, functionVersion: '$LATEST', invokedFunctionArn: arn, memoryLimitInMB: '512',
        awsRequestId: randomUUID(), logGroupName: '/aws/lambda/' + functionName, logStreamName: 'bundle',
        callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60000,
        done() {}, fail() {}, succeed() {},
      };
      const report = await mod.handler(JSON.parse(event), context);
      process.stdout.write('\\nREPORT ' + JSON.stringify(report) + '\\n');
    }`;

  /** The function's environment from the template, pointed at the sandbox the way Lambda's would be at AWS. */
  function lambdaEnv(fn: FunctionKey, over: Record<string, string> = {}): Record<string, string> {
    const vars = (props(tpl, LOGICAL[fn]).Environment as { Variables: Record<string, Json> }).Variables;
    const refs: Record<string, string> = {
      StateTable: sb.env.STATE_TABLE!,
      ImdsRemediate: String(raw.Parameters?.ImdsRemediate?.Default),
    };
    const env = Object.fromEntries(
      Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : refs[(v as { Ref: string }).Ref]!]),
    );
    return {
      PATH: process.env.PATH ?? '',
      ...env,
      MACKEREL_APIBASE: sb.env.MACKEREL_APIBASE!,
      AWS_REGION: 'ap-northeast-1',
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      AWS_ENDPOINT_URL_EC2: sb.env.AWS_ENDPOINT_URL_EC2!,
      AWS_ENDPOINT_URL_DYNAMODB: sb.env.AWS_ENDPOINT_URL_DYNAMODB!,
      AWS_ENDPOINT_URL_EVENTBRIDGE: sb.env.AWS_ENDPOINT_URL_EVENTBRIDGE!,
      AWS_ENDPOINT_URL_SSM: ssm.url,
      ...over,
    };
  }

  /** Runs the bundle in a fresh Node process, the way the Lambda runtime imports it. Async: the sandbox serves it. */
  async function invoke(fn: FunctionKey, event: unknown, over: Record<string, string> = {}) {
    const { handler } = unpack(fn);
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', RUNNER, handler, sb.functionArn(fn), JSON.stringify(event)],
      { cwd: extracted, env: lambdaEnv(fn, over), maxBuffer: 16 * 1024 * 1024 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
    if (!line) throw new Error(`no report from ${fn}:\n${stdout}`);
    return JSON.parse(line.slice('REPORT '.length)) as {
      status: string;
      dryRun: boolean;
      actions: { kind: string; hostId?: string; outcome: string }[];
    };
  }

  function instanceWithHost(): { inst: FakeInstance; hostId: string } {
    const now = Date.now();
    const inst = sb.ec2.addInstance({ launchTime: new Date(now - 3_600_000) });
    const host = sb.mackerel.addHost({
      name: inst.privateDnsName,
      customIdentifier: `${inst.instanceId}.ec2.amazonaws.com`,
      createdAt: Math.floor(now / 1000) - 1800,
    });
    sb.mackerel.setLatestMetric(host.id, 'loadavg5', Math.floor(now / 1000) - 60, 0.3);
    return { inst, hostId: host.id };
  }

  it.each(FUNCTIONS)('%s.zip: a minified ESM handler and its source map, needing no node_modules', async (fn) => {
    const { handler, entries } = unpack(fn);
    expect([...entries.keys()].sort()).toEqual([`functions/${fn}/handler.mjs`, `functions/${fn}/handler.mjs.map`]);
    const code = entries.get(`functions/${fn}/handler.mjs`)!.toString('utf8');
    const lines = code.split('\n');
    expect(code.length / lines.length, 'average line length of a minified bundle').toBeGreaterThan(1000);
    expect(lines.at(-2) ?? lines.at(-1)).toMatch(/^\/\/# sourceMappingURL=handler\.mjs\.map$/);
    // Nothing left for the runtime to resolve: the SDK and every dependency are in the bundle.
    expect(code).not.toMatch(/from\s*["'](@aws-sdk|@aws-lambda-powertools|@middy|zod)/);
    const map = JSON.parse(entries.get(`functions/${fn}/handler.mjs.map`)!.toString('utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith(`functions/${fn}/handler.ts`))).toBe(true);

    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', RUNNER, handler, 'exports', '{}'], {
      cwd: extracted,
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(stdout).toContain('EXPORTS {"handler":"function"}');
  });

  it('the bundles reconcile the sandbox with the environment the template gives them', async () => {
    for (let i = 0; i < 10; i++) instanceWithHost(); // keeps two retirements under the circuit breaker's 20 %
    const stopped = instanceWithHost();
    const swept = instanceWithHost();
    const replayed = instanceWithHost();
    sb.ec2.setState(stopped.inst.instanceId, 'stopped');
    sb.ec2.setState(swept.inst.instanceId, 'terminated');
    sb.ec2.setState(replayed.inst.instanceId, 'terminated');
    const sweepEvent = scheduledEvent({ accountId: sb.accountId });

    // As deployed: DRY_RUN=true plans the retirement and writes nothing.
    const dry = await invoke('sweep', sweepEvent);
    expect(dry.dryRun).toBe(true);
    expect(dry.actions).toContainEqual(expect.objectContaining({ kind: 'retire', hostId: swept.hostId }));
    expect(sb.mackerel.writeCalls()).toEqual([]);
    // The API key came from the SecureString named by MACKEREL_APIKEY_PARAMETER, decrypted.
    expect(ssm.calls).toContainEqual({
      target: 'AmazonSSM.GetParameter',
      name: '/mackerel-reconciler/api-key',
      withDecryption: true,
      status: 200,
    });

    const live = { DRY_RUN: 'false' };
    const stateChange = ec2StateChangeEvent({
      accountId: sb.accountId,
      instanceId: stopped.inst.instanceId,
      state: 'stopped',
    });
    const onEvent = await invoke('instance-state-change', stateChange, live);
    expect(onEvent.status).toBe('ok');
    expect(sb.mackerel.hosts.get(stopped.hostId)?.status).toBe('poweroff');

    const onReplay = await invoke('replay', { instanceIds: [replayed.inst.instanceId] }, live);
    expect(onReplay.actions).toContainEqual(
      expect.objectContaining({ kind: 'retire', hostId: replayed.hostId, outcome: 'done' }),
    );
    expect(sb.mackerel.hosts.get(replayed.hostId)?.isRetired).toBe(true);

    const onSweep = await invoke('sweep', sweepEvent, live);
    expect(onSweep.actions).toContainEqual(
      expect.objectContaining({ kind: 'retire', hostId: swept.hostId, outcome: 'done' }),
    );
    expect(sb.mackerel.hosts.get(swept.hostId)?.isRetired).toBe(true);
    expect(sb.eventBridge.events.map((e) => e.detailType)).toEqual(
      expect.arrayContaining(['Host Status Changed', 'Host Retired']),
    );
  });
});

describe('infra/forwarder.yml', () => {
  const forwarder = parseCfnYaml(readFileSync(join(ROOT, 'infra/forwarder.yml'), 'utf8'));

  it('parses, and forwards the same pattern to the home region default bus with a role', () => {
    expect(forwarder.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(forwarder.Parameters?.HomeRegion).toMatchObject({ Type: 'String' });
    const rule = forwarder.Resources.ForwardRule!;
    expect(rule.Type).toBe('AWS::Events::Rule');
    expect(rule.Properties).toMatchObject({
      EventPattern: STATE_CHANGE_PATTERN,
      State: 'ENABLED',
      Targets: [
        {
          Arn: sub('arn:${AWS::Partition}:events:${HomeRegion}:${AWS::AccountId}:event-bus/default'),
          RoleArn: getAtt('ForwardRole'),
          DeadLetterConfig: { Arn: getAtt('ForwardDeadLetterQueue') },
        },
      ],
    });
    expect(rule.Properties?.EventBusName).toBeUndefined();
    // The same pattern the home region's rule and archive use.
    expect(rule.Properties?.EventPattern).toEqual(props(tpl, 'StateChangeArchive').EventPattern);
  });

  it('the role may put events on the home default bus and nothing else; never deployed in the home region', () => {
    const role = forwarder.Resources.ForwardRole!;
    expect(role.Type).toBe('AWS::IAM::Role');
    expect(role.Properties?.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const allows = policyStatements(evaluate(forwarder, { HomeRegion: 'ap-northeast-1' })).filter(
      (s) => s.Effect === 'Allow',
    );
    expect(allows.filter((s) => s.holder === 'ForwardRole')).toMatchObject([
      {
        Action: ['events:PutEvents'],
        Resource: [sub('arn:${AWS::Partition}:events:${HomeRegion}:${AWS::AccountId}:event-bus/default')],
      },
    ]);
    for (const s of allows) {
      for (const a of s.Action) expect(a).not.toContain('*');
      expect(s.Resource).not.toContain('*');
    }
    expect(forwarder.Rules?.NotInHomeRegion).toMatchObject({
      Assertions: [{ Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'HomeRegion' }, { Ref: 'AWS::Region' }] }] } }],
    });
  });
});

describe('dashboard and tracing', () => {
  /** A run's report as the handlers return it: a sweep, and an event that retired a host. */
  const sweepReport: Report = {
    trigger: 'sweep',
    runId: 'r-1',
    accountId: '123456789012',
    dryRun: false,
    dryRunDecidedBy: 'default',
    startedAt: new Date(0).toISOString(),
    durationMs: 1000,
    status: 'ok',
    regions: [{ region: 'ap-northeast-1', ok: true, instanceCount: 1 }],
    counts: { hosts: 1, instances: 1, linkedHosts: 1, foreignHosts: 0, planned: 1, held: 0, done: 1, failed: 0 },
    actions: [],
    findings: { published: 0, failed: 0, detailTypes: {} },
    ambiguities: [],
    foreignHostIds: [],
    ignoredInstanceIds: [],
    unknownInstanceIds: [],
    unreadableHosts: [],
    errors: [],
    apiRetries: { mackerel: 0, ec2: 0 },
  };
  const eventReport: Report = { ...sweepReport, trigger: 'instance-state-change', events: [] };
  const stateChange = { time: new Date(Date.now() - 5000).toISOString() };

  const bodyOf = (t: Template, region: string) => {
    const body = props(t, 'Dashboard').DashboardBody as Json;
    const text = typeof body === 'string' ? body : ((body as JsonObject)['Fn::Sub'] as string);
    return text.replaceAll('${AWS::Region}', region);
  };

  it('every metric of the reconciler a widget names is one the code emits, with the dimensions it emits', () => {
    const sweep = emitted(sweepReport);
    const event = emitted(eventReport, stateChange);
    expect(event.names).toContain('EventLatency');
    expect(sweep.dimensions).toEqual(event.dimensions);
    const names = new Set([...sweep.names, ...event.names]);
    const own = dashboardMetrics(bodyOf(tpl, 'ap-northeast-1')).filter((m) => !m.namespace.startsWith('AWS/'));
    expect(own.length).toBeGreaterThan(10);
    for (const m of own) {
      const where = `${m.widget}: ${m.name}`;
      expect(m.namespace, where).toBe(sweep.namespace);
      expect([...names], where).toContain(m.name);
      // EMF metrics are stored under exactly the dimension set they were emitted with
      expect(m.dimensions, where).toEqual(sweep.dimensions);
      for (const k of Object.keys(m.values)) expect(sweep.dimensions, where).toContain(k);
    }
    // what the issue asks to see
    const shown = new Set(own.map((m) => m.name));
    for (const name of ['Runs', 'HostsRetired', 'StatusesChanged', 'HeldRetirements', 'ActionsFailed', 'EventLatency', 'AlertsClosed', 'AgentsRepaired', 'SilencesChanged']) {
      expect([...shown]).toContain(name);
    }
  });

  it("the AWS metrics name the stack's own queue and functions, in the stack's region", () => {
    for (const [t, region, stage] of [
      [tpl, 'ap-northeast-1', 'ci'],
      [variant, 'us-west-2', 'prod'],
    ] as const) {
      const body = JSON.parse(bodyOf(t, region)) as { widgets: { properties: { region: string } }[] };
      for (const w of body.widgets) expect(w.properties.region).toBe(region);
      const aws = dashboardMetrics(bodyOf(t, region)).filter((m) => m.namespace.startsWith('AWS/'));
      const dlq = aws.filter((m) => m.namespace === 'AWS/SQS');
      expect(dlq).toMatchObject([
        { name: 'ApproximateNumberOfMessagesVisible', values: { QueueName: props(t, 'DeadLetterQueue').QueueName } },
      ]);
      const functionNames = [
        ...FUNCTIONS.map((fn) => props(t, LOGICAL[fn]).FunctionName),
        props(t, 'TaskDashstateDashchangeLambdaFunction').FunctionName,
      ];
      const lambda = aws.filter((m) => m.namespace === 'AWS/Lambda');
      expect(lambda.length).toBeGreaterThanOrEqual(4);
      expect(lambda.map((m) => m.values.FunctionName)).toContain(`mackerel-reconciler-${stage}-task-state-change`);
      for (const m of lambda) expect(functionNames).toContain(m.values.FunctionName);
      expect(props(t, 'Dashboard').DashboardName).toBe(`mackerel-reconciler-${stage}`);
    }
  });

  it('every function is traced (X-Ray Active) and its role may write traces', () => {
    for (const fn of FUNCTIONS) {
      expect(props(tpl, LOGICAL[fn]).TracingConfig).toEqual({ Mode: 'Active' });
      const traces = policyStatements(tpl).filter((s) => s.holder === ROLE[fn] && s.Sid === 'WriteTraces');
      expect(traces).toMatchObject([
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] },
      ]);
    }
  });
});
