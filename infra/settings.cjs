// Deployment settings: every `--param` of serverless.yml read once, checked, and normalised here, so a bad value
// stops `serverless package` with the parameter's name instead of surfacing as a failed stack or a Lambda that
// throws ConfigError on every invocation. CommonJS because osls loads `${file(x.cjs)}` with require().
/* global module, URL */
'use strict';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
// The schedule syntax osls accepts (lib/plugins/aws/package/compile/events/schedule.js).
const SCHEDULE =
  /^(rate\((1 (minute|hour|day)|(1\d+|[2-9]\d*) (minute|hour|day)s)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;
const BUS_NAME = /^[.\-_A-Za-z0-9]{1,256}$/;
const SSM_NAME = /^\/?[a-zA-Z0-9_.\-/]{1,2047}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[a-zA-Z0-9-]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
// CloudWatch Logs accepts only these retention periods.
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

// A value is echoed back in the message, cut so that a pasted file does not fill the terminal.
const clip = (value) => {
  const s = String(value);
  return s.length <= 100 ? s : `${s.slice(0, 100)}… (${s.length - 100} more characters)`;
};

class ParamError extends Error {
  constructor(name, message, value) {
    super(`--param ${name}: ${message}, got "${clip(value)}"`);
    this.name = 'ParamError';
    // osls prints a function's error by its stack: a bad parameter is the person's to fix, not a code trace.
    this.stack = `${this.name}: ${this.message}`;
  }
}

function bool(name, value) {
  const s = String(value).trim().toLowerCase();
  if (s === 'true' || s === 'false') return s === 'true';
  throw new ParamError(name, 'must be true or false', value);
}

function int(name, value, min, max) {
  const s = String(value).trim();
  const n = Number(s);
  if (s === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new ParamError(name, `must be a whole number from ${min} to ${max}`, value);
  }
  return n;
}

function matching(name, value, pattern, what) {
  const s = String(value).trim();
  if (!pattern.test(s)) throw new ParamError(name, `must be ${what}`, value);
  return s;
}

/** Turns the raw parameter strings into the settings serverless.yml and infra/*.yml use. Pure, for the tests. */
function settingsOf(raw, deploymentRegion) {
  const p = (name) => {
    const v = raw[name];
    if (v === undefined || v === null) throw new ParamError(name, 'is required', v);
    return String(v);
  };

  const regions = [
    ...new Set(
      (p('regions').trim() || deploymentRegion)
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  ];
  const badRegion = regions.find((r) => !REGION.test(r));
  if (badRegion !== undefined) throw new ParamError('regions', 'must be a comma list of AWS regions', badRegion);

  const eventBusName = matching('eventBusName', p('eventBusName'), BUS_NAME, 'an EventBridge bus name');
  const createEventBus = bool('createEventBus', p('createEventBus'));
  if (createEventBus && eventBusName === 'default') {
    throw new ParamError('createEventBus', 'needs --param eventBusName=<a name other than default>', 'true');
  }

  const apiKeyParameterRaw = p('apiKeyParameter').trim();
  const apiKeyKmsKeyArn = p('apiKeyKmsKeyArn').trim();
  if (apiKeyKmsKeyArn !== '') matching('apiKeyKmsKeyArn', apiKeyKmsKeyArn, KMS_KEY_ARN, 'a KMS key ARN or empty');

  const mackerelApiBase = p('mackerelApiBase').trim();
  let url;
  try {
    url = new URL(mackerelApiBase);
  } catch {
    throw new ParamError('mackerelApiBase', 'must be an https URL', mackerelApiBase);
  }
  if (url.protocol !== 'https:') throw new ParamError('mackerelApiBase', 'must be an https URL', mackerelApiBase);

  // Optional (older parameter sets lack them): the Alertmanager backend stays off.
  const opt = (name, fallback) => (raw[name] === undefined || raw[name] === null ? fallback : String(raw[name]));
  const alertmanagerUrl = opt('alertmanagerUrl', '').trim();
  if (alertmanagerUrl !== '') {
    let am;
    try {
      am = new URL(alertmanagerUrl);
    } catch {
      throw new ParamError('alertmanagerUrl', 'must be an https URL or empty', alertmanagerUrl);
    }
    if (am.protocol !== 'https:') throw new ParamError('alertmanagerUrl', 'must be an https URL or empty', alertmanagerUrl);
  }
  // Empty: Mackerel is off, which only makes sense with Alertmanager as the backend (the code refuses neither).
  if (apiKeyParameterRaw === '' && alertmanagerUrl === '') {
    throw new ParamError('apiKeyParameter', 'is required unless alertmanagerUrl is set (Alertmanager alone)', '');
  }
  const apiKeyParameter =
    apiKeyParameterRaw === ''
      ? ''
      : matching('apiKeyParameter', apiKeyParameterRaw, SSM_NAME, 'an SSM parameter name (or empty with alertmanagerUrl)');
  const alertmanagerAuthParameter = opt('alertmanagerAuthParameter', '').trim();
  if (alertmanagerAuthParameter !== '') {
    matching('alertmanagerAuthParameter', alertmanagerAuthParameter, SSM_NAME, 'an SSM parameter name or empty');
  }
  const alertmanagerInstanceLabel = matching(
    'alertmanagerInstanceLabel',
    opt('alertmanagerInstanceLabel', 'instance_id'),
    LABEL,
    'a Prometheus label name',
  );

  const alarmTopicArn = p('alarmTopicArn').trim();
  if (alarmTopicArn !== '') matching('alarmTopicArn', alarmTopicArn, SNS_TOPIC_ARN, 'an SNS topic ARN or empty');

  const logRetentionInDays = int('logRetentionInDays', p('logRetentionInDays'), 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionInDays)) {
    throw new ParamError('logRetentionInDays', `must be one of ${LOG_RETENTION_DAYS.join(', ')}`, logRetentionInDays);
  }
  const logLevel = p('logLevel').trim().toUpperCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ParamError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);
  }

  const dryRun = bool('dryRun', p('dryRun'));
  const imdsRemediate = bool('imdsRemediate', p('imdsRemediate'));
  const agentRepair = bool('agentRepair', p('agentRepair'));

  return {
    regions: regions.join(','),
    regionList: regions,
    // Where the functions may call EC2: REGIONS for the sweep, and the deployment region, whose own state-change
    // events reach the event function whether or not REGIONS lists it.
    inventoryRegions: [...new Set([deploymentRegion, ...regions])],
    sweepSchedule: matching('sweepSchedule', p('sweepSchedule'), SCHEDULE, 'rate(…) or cron(…)'),
    // Strings: they become environment variables and CloudFormation condition operands.
    dryRun: String(dryRun),
    imdsRemediate: String(imdsRemediate),
    agentRepair: String(agentRepair),
    silentMinutes: String(int('silentMinutes', p('silentMinutes'), 1, 60 * 24 * 30)),
    agentRepairHours: String(int('agentRepairHours', p('agentRepairHours'), 1, 24 * 365)),
    createEventBus: String(createEventBus),
    eventBusName,
    apiKeyParameter,
    // A parameter ARN is `parameter/<name>` for `name` and `parameter/<path without its leading slash>` for `/path`.
    apiKeyParameterArnPath: apiKeyParameter.replace(/^\//, ''),
    apiKeyKmsKeyArn,
    mackerelApiBase,
    maxRetirePerRun: String(int('maxRetirePerRun', p('maxRetirePerRun'), 0, 1_000_000)),
    maxRetirePercent: String(int('maxRetirePercent', p('maxRetirePercent'), 0, 100)),
    duplicateStaleMinutes: String(int('duplicateStaleMinutes', p('duplicateStaleMinutes'), 1, 60 * 24 * 365)),
    terminatingHoldMinutes: String(int('terminatingHoldMinutes', p('terminatingHoldMinutes'), 1, 60 * 24)),
    alarmTopicArn,
    alertmanagerUrl,
    alertmanagerAuthParameter,
    alertmanagerAuthParameterArnPath: alertmanagerAuthParameter.replace(/^\//, ''),
    alertmanagerInstanceLabel,
    // 0 keeps archived events forever.
    archiveRetentionDays: int('archiveRetentionDays', p('archiveRetentionDays'), 0, 36_500),
    logRetentionInDays,
    logLevel,
    sweepMemorySize: int('sweepMemorySize', p('sweepMemorySize'), 512, 10_240),
    graphAnnotations: String(bool('graphAnnotations', p('graphAnnotations'))),
  };
}

const PARAMS = [
  'regions',
  'sweepSchedule',
  'dryRun',
  'imdsRemediate',
  'eventBusName',
  'createEventBus',
  'apiKeyParameter',
  'apiKeyKmsKeyArn',
  'mackerelApiBase',
  'maxRetirePerRun',
  'maxRetirePercent',
  'duplicateStaleMinutes',
  'terminatingHoldMinutes',
  'alarmTopicArn',
  'alertmanagerUrl',
  'alertmanagerAuthParameter',
  'alertmanagerInstanceLabel',
  'archiveRetentionDays',
  'logRetentionInDays',
  'logLevel',
  'sweepMemorySize',
  'graphAnnotations',
  'silentMinutes',
  'agentRepair',
  'agentRepairHours',
];

module.exports = async ({ resolveVariable }) => {
  const raw = {};
  for (const name of PARAMS) raw[name] = await resolveVariable(`param:${name}, null`);
  const region = await resolveVariable('self:provider.region');
  return settingsOf(raw, region);
};
module.exports.settingsOf = settingsOf;
module.exports.PARAMS = PARAMS;
