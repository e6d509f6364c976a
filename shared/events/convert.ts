/**
 * Validated events in the run's terms: an early signal (Spot warning, ASG terminate) becomes a look at its
 * instance that marks it *terminating*; an ECS task event a look at its task.
 */
import type { InstanceStateEvent, TaskStateEvent } from '../reconcile/model.js';
import type { AnyEvent, InstanceEvent } from './schemas.js';

const base = (e: AnyEvent) => ({ id: e.id, account: e.account, region: e.region, time: e.time });

export function toInstanceEvent(e: InstanceEvent): InstanceStateEvent {
  switch (e['detail-type']) {
    case 'EC2 Instance State-change Notification':
      return { ...base(e), detail: { 'instance-id': e.detail['instance-id'], state: e.detail.state } };
    case 'EC2 Spot Instance Interruption Warning':
      // The instance still runs for two minutes: "running" keeps a NotFound from proving anything.
      return { ...base(e), detail: { 'instance-id': e.detail['instance-id'], state: 'running' }, signal: 'spot-interruption' };
    case 'EC2 Instance-terminate Lifecycle Action':
      return { ...base(e), detail: { 'instance-id': e.detail.EC2InstanceId, state: 'running' }, signal: 'asg-terminate' };
  }
}

export function toTaskEvent(e: Extract<AnyEvent, { source: 'aws.ecs' }>): TaskStateEvent {
  const d = e.detail;
  return {
    ...base(e),
    detail: {
      taskArn: d.taskArn,
      clusterArn: d.clusterArn,
      lastStatus: d.lastStatus,
      ...(d.desiredStatus ? { desiredStatus: d.desiredStatus } : {}),
      ...(d.stoppedReason ? { stoppedReason: d.stoppedReason } : {}),
    },
  };
}

/** A replay's events split by the run that handles them. */
export function splitEvents(events: readonly AnyEvent[]): { instances: InstanceStateEvent[]; tasks: TaskStateEvent[] } {
  const instances: InstanceStateEvent[] = [];
  const tasks: TaskStateEvent[] = [];
  for (const e of events) {
    if (e.source === 'aws.ecs') tasks.push(toTaskEvent(e));
    else instances.push(toInstanceEvent(e));
  }
  return { instances, tasks };
}
