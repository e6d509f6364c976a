/** Input schemas: what the handlers accept, rejected with a message naming the field when wrong. */
import { z } from 'zod';
import { clipText } from '../errors.js';

export const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export const InstanceStateName = z.enum([
  'pending',
  'running',
  'shutting-down',
  'terminated',
  'stopping',
  'stopped',
]);

/** EventBridge "EC2 Instance State-change Notification". AWS may add fields, so unknown keys pass. */
export const Ec2StateChangeEvent = z.looseObject({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.literal('EC2 Instance State-change Notification'),
  source: z.literal('aws.ec2'),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().regex(REGION, 'must be an AWS region'),
  resources: z.array(z.string()).optional(),
  detail: z.looseObject({
    'instance-id': z.string().regex(INSTANCE_ID, 'must be an EC2 instance id (i-…)'),
    state: InstanceStateName,
  }),
});
export type Ec2StateChangeEvent = z.infer<typeof Ec2StateChangeEvent>;

const envelope = {
  version: z.string().optional(),
  id: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().regex(REGION, 'must be an AWS region'),
  resources: z.array(z.string()).optional(),
};

/** EventBridge "EC2 Spot Instance Interruption Warning": two minutes before Spot stops, hibernates or terminates it. */
export const SpotInterruptionEvent = z.looseObject({
  ...envelope,
  'detail-type': z.literal('EC2 Spot Instance Interruption Warning'),
  source: z.literal('aws.ec2'),
  detail: z.looseObject({
    'instance-id': z.string().regex(INSTANCE_ID, 'must be an EC2 instance id (i-…)'),
    'instance-action': z.string().optional(),
  }),
});
export type SpotInterruptionEvent = z.infer<typeof SpotInterruptionEvent>;

/** EventBridge "EC2 Instance-terminate Lifecycle Action" (only where the group has a terminate lifecycle hook). */
export const AsgTerminateEvent = z.looseObject({
  ...envelope,
  'detail-type': z.literal('EC2 Instance-terminate Lifecycle Action'),
  source: z.literal('aws.autoscaling'),
  detail: z.looseObject({
    EC2InstanceId: z.string().regex(INSTANCE_ID, 'must be an EC2 instance id (i-…)'),
    AutoScalingGroupName: z.string().optional(),
    LifecycleTransition: z.string().optional(),
  }),
});
export type AsgTerminateEvent = z.infer<typeof AsgTerminateEvent>;

const TASK_ARN = /^arn:aws[a-z-]*:ecs:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:task\/[A-Za-z0-9/_-]+$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:cluster\/[A-Za-z0-9_-]+$/;

/** EventBridge "ECS Task State Change"; only `lastStatus: STOPPED` is acted on (the sweep covers the rest). */
export const EcsTaskStateChangeEvent = z.looseObject({
  ...envelope,
  'detail-type': z.literal('ECS Task State Change'),
  source: z.literal('aws.ecs'),
  detail: z.looseObject({
    taskArn: z.string().regex(TASK_ARN, 'must be an ECS task ARN'),
    clusterArn: z.string().regex(CLUSTER_ARN, 'must be an ECS cluster ARN'),
    lastStatus: z.string().min(1),
    desiredStatus: z.string().optional(),
    stoppedReason: z.string().optional(),
  }),
});
export type EcsTaskStateChangeEvent = z.infer<typeof EcsTaskStateChangeEvent>;

/** What the instance-state-change function takes: a state change, or an early signal of an instance's end. */
export const InstanceEvent = z.discriminatedUnion('detail-type', [
  Ec2StateChangeEvent,
  SpotInterruptionEvent,
  AsgTerminateEvent,
]);
export type InstanceEvent = z.infer<typeof InstanceEvent>;

/** Any event a handler takes (a replay's `events`). */
export const AnyEvent = z.discriminatedUnion('detail-type', [
  Ec2StateChangeEvent,
  SpotInterruptionEvent,
  AsgTerminateEvent,
  EcsTaskStateChangeEvent,
]);
export type AnyEvent = z.infer<typeof AnyEvent>;

/** EventBridge "Scheduled Event"; the sweep ignores everything but its shape. */
export const ScheduledEvent = z.looseObject({
  'detail-type': z.literal('Scheduled Event').optional(),
  source: z.string().optional(),
});

const dryRun = z.boolean().optional();

/** Manual replay: exactly one of events, instanceIds or sweep. Unknown keys are an error. */
export const ReplayPayload = z
  .strictObject({
    events: z.array(AnyEvent).min(1).max(1000).optional(),
    instanceIds: z
      .array(z.string().regex(INSTANCE_ID, 'must be an EC2 instance id (i-…)'))
      .min(1)
      .max(1000)
      .optional(),
    sweep: z
      .strictObject({ regions: z.array(z.string().regex(REGION, 'must be an AWS region')).min(1).optional() })
      .optional(),
    dryRun,
  })
  .check((ctx) => {
    const given = (['events', 'instanceIds', 'sweep'] as const).filter((k) => ctx.value[k] !== undefined);
    if (given.length !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: [],
        message:
          given.length === 0
            ? 'one of "events", "instanceIds" or "sweep" is required'
            : `only one of "events", "instanceIds" or "sweep" may be given, got ${given.join(' and ')}`,
      });
    }
  });
export type ReplayPayload = z.infer<typeof ReplayPayload>;

export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly what: string,
    readonly issues: { path: string; message: string }[],
  ) {
    const shown = issues.slice(0, 10).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    const more = issues.length > 10 ? `; and ${issues.length - 10} more` : '';
    super(clipText(`invalid ${what}: ${shown.join('; ')}${more}`, 2000));
  }
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  throw new InputError(
    what,
    res.error.issues.map((i) => ({
      // Keys and paths come from the input: a megabyte-long key must not be echoed whole into a log line.
      path: clipText(i.path.map(String).join('.'), 100),
      message:
        i.code === 'unrecognized_keys'
          ? `unknown field(s) ${i.keys
              .slice(0, 10)
              .map((k) => `"${clipText(k, 60)}"`)
              .join(', ')}${i.keys.length > 10 ? ` and ${i.keys.length - 10} more` : ''}`
          : clipText(i.message, 300),
    })),
  );
}
