// The EventBridge events the handlers are invoked with, as AWS delivers them: one builder for the demo, the
// tests, the chaos suite and the benchmarks.
import { randomUUID } from 'node:crypto';

export const EVENT_REGION = 'ap-northeast-1';

/** EventBridge writes event times to the second. */
const eventTime = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The envelope every EventBridge event from AWS shares. */
function awsEvent<D extends string, S extends string, T>(e: {
  detailType: D;
  source: S;
  accountId: string;
  region: string;
  resources: string[];
  detail: T;
  id?: string;
  time?: Date;
}) {
  return {
    version: '0',
    id: e.id ?? randomUUID(),
    'detail-type': e.detailType,
    source: e.source,
    account: e.accountId,
    time: eventTime(e.time ?? new Date()),
    region: e.region,
    resources: e.resources,
    detail: e.detail,
  };
}

/** An `EC2 Instance State-change Notification` from `accountId`. */
export function ec2StateChangeEvent<S extends string>(e: {
  accountId: string;
  instanceId: string;
  state: S;
  id?: string;
  time?: Date;
  region?: string;
}) {
  const region = e.region ?? EVENT_REGION;
  return awsEvent({
    detailType: 'EC2 Instance State-change Notification' as const,
    source: 'aws.ec2' as const,
    accountId: e.accountId,
    region,
    resources: [`arn:aws:ec2:${region}:${e.accountId}:instance/${e.instanceId}`],
    id: e.id,
    time: e.time,
    detail: { 'instance-id': e.instanceId, state: e.state },
  });
}

/** The sweep's schedule firing. */
export function scheduledEvent(e: { accountId: string; id?: string; time?: Date }) {
  return awsEvent({
    detailType: 'Scheduled Event' as const,
    source: 'aws.events' as const,
    accountId: e.accountId,
    region: EVENT_REGION,
    resources: [`arn:aws:events:${EVENT_REGION}:${e.accountId}:rule/mackerel-reconciler-sweep`],
    id: e.id,
    time: e.time,
    detail: {},
  });
}

/**
 * An `EC2 Spot Instance Interruption Warning`, shaped like the example in the EC2 User Guide
 * (spot-instance-termination-notices, test/fixtures/real/events/aws-docs-spot-interruption-warning.json).
 */
export function spotInterruptionEvent(e: {
  accountId: string;
  instanceId: string;
  action?: 'terminate' | 'stop' | 'hibernate';
  id?: string;
  time?: Date;
  region?: string;
}) {
  const region = e.region ?? EVENT_REGION;
  return awsEvent({
    detailType: 'EC2 Spot Instance Interruption Warning' as const,
    source: 'aws.ec2' as const,
    accountId: e.accountId,
    region,
    resources: [`arn:aws:ec2:${region}:${e.accountId}:instance/${e.instanceId}`],
    id: e.id,
    time: e.time,
    detail: { 'instance-id': e.instanceId, 'instance-action': e.action ?? 'terminate' },
  });
}

/**
 * An `EC2 Instance-terminate Lifecycle Action`, shaped like AWS's published example (Auto Scaling user guide;
 * test/fixtures/real/events/lambda-go-autoscaling-terminate-lifecycle-action.json).
 */
export function asgTerminateEvent(e: { accountId: string; instanceId: string; group?: string; id?: string; time?: Date; region?: string }) {
  const region = e.region ?? EVENT_REGION;
  const group = e.group ?? 'web-asg';
  return awsEvent({
    detailType: 'EC2 Instance-terminate Lifecycle Action' as const,
    source: 'aws.autoscaling' as const,
    accountId: e.accountId,
    region,
    resources: [`arn:aws:autoscaling:${region}:${e.accountId}:autoScalingGroup:7f3c2f0e-1d2a-4b6c-9e8f-0a1b2c3d4e5f:autoScalingGroupName/${group}`],
    id: e.id,
    time: e.time,
    detail: {
      LifecycleActionToken: randomUUID(),
      AutoScalingGroupName: group,
      LifecycleHookName: 'drain-before-terminate',
      EC2InstanceId: e.instanceId,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    },
  });
}

/** An `ECS Task State Change`, shaped like the example in the ECS Developer Guide (ecs_task_events). */
export function ecsTaskStateChangeEvent(e: {
  accountId: string;
  taskArn: string;
  clusterArn: string;
  lastStatus?: string;
  stoppedReason?: string;
  id?: string;
  time?: Date;
  region?: string;
}) {
  const region = e.region ?? EVENT_REGION;
  const lastStatus = e.lastStatus ?? 'STOPPED';
  const stopped = lastStatus === 'STOPPED';
  return awsEvent({
    detailType: 'ECS Task State Change' as const,
    source: 'aws.ecs' as const,
    accountId: e.accountId,
    region,
    resources: [e.taskArn],
    id: e.id,
    time: e.time,
    detail: {
      clusterArn: e.clusterArn,
      taskArn: e.taskArn,
      lastStatus,
      desiredStatus: stopped ? 'STOPPED' : 'RUNNING',
      launchType: 'FARGATE',
      ...(stopped ? { stoppedReason: e.stoppedReason ?? 'Essential container in task exited', stopCode: 'EssentialContainerExited' } : {}),
      containers: [{ name: 'web', lastStatus, taskArn: e.taskArn }],
      version: stopped ? 5 : 3,
    },
  });
}
