// The EventBridge events the handlers are invoked with, as AWS delivers them: one builder for the demo, the
// tests, the chaos suite and the benchmarks.
import { randomUUID } from 'node:crypto';

export const EVENT_REGION = 'ap-northeast-1';

/** EventBridge writes event times to the second. */
const eventTime = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

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
  return {
    version: '0',
    id: e.id ?? randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification' as const,
    source: 'aws.ec2' as const,
    account: e.accountId,
    time: eventTime(e.time ?? new Date()),
    region,
    resources: [`arn:aws:ec2:${region}:${e.accountId}:instance/${e.instanceId}`],
    detail: { 'instance-id': e.instanceId, state: e.state },
  };
}

/** The sweep's schedule firing. */
export function scheduledEvent(e: { accountId: string; id?: string; time?: Date }) {
  return {
    version: '0',
    id: e.id ?? randomUUID(),
    'detail-type': 'Scheduled Event' as const,
    source: 'aws.events' as const,
    account: e.accountId,
    time: eventTime(e.time ?? new Date()),
    region: EVENT_REGION,
    resources: [`arn:aws:events:${EVENT_REGION}:${e.accountId}:rule/mackerel-reconciler-sweep`],
    detail: {},
  };
}
