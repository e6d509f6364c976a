/**
 * What the domain knows of the outside world, in its own words: plain types, no schema library, no SDK. The
 * adapters read the world into these shapes (the Mackerel client's zod schemas, the EC2 inventory's
 * `toInstance`) and `test/architecture.test.ts` checks that what they produce fits.
 */

/** Host statuses Mackerel knows. */
export type HostStatus = 'working' | 'standby' | 'maintenance' | 'poweroff';

/** A Mackerel host, as far as matching and planning look at it (the API sends much more, which is ignored). */
export type Host = {
  id: string;
  name: string;
  displayName?: string | null;
  customIdentifier?: string | null;
  status: HostStatus;
  /** service → roles */
  roles: Record<string, string[]>;
  isRetired: boolean;
  /** epoch seconds */
  createdAt: number;
  meta: {
    cloud?: { provider?: string; metadata?: Record<string, unknown> } | null;
    'agent-version'?: string;
  };
  interfaces?: { name?: string; ipAddress?: string; ipv4Addresses?: string[] }[] | null;
};

/** A host the run could not read and therefore never touches. */
export type UnreadableHost = {
  /** the host's id, when that much could be read */
  id?: string;
  /** where in the response, e.g. `hosts.3.meta` */
  field: string;
  problem: string;
};

/** The readable hosts of a list and the ones set aside. */
export type HostList = {
  hosts: Host[];
  unreadable: UnreadableHost[];
};

export type CheckStatus = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** One check monitoring report about one host. */
export type CheckReport = {
  source: { type: 'host'; hostId: string };
  name: string;
  status: CheckStatus;
  message: string;
  /** epoch seconds */
  occurredAt: number;
};

/** The states EC2 reports for an instance. */
export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** What the reconciler needs to know of one EC2 instance, in one region. */
export type Instance = {
  instanceId: string;
  region: string;
  state: InstanceState;
  privateDnsName?: string;
  privateIpAddress?: string;
  /** epoch milliseconds */
  launchTime: number;
  tags: Record<string, string>;
  /** MetadataOptions.HttpEndpoint; `disabled` means the agent cannot read its instance id. */
  httpEndpoint: 'enabled' | 'disabled';
  /** MetadataOptions.HttpTokens; `required` (IMDSv2 only) needs mackerel-agent 0.67.0 or later */
  httpTokens?: 'optional' | 'required';
  /** MetadataOptions.HttpPutResponseHopLimit */
  httpPutResponseHopLimit?: number;
  /** `windows` for a Windows instance (EC2's Platform); absent for Linux */
  platform?: string;
};

/** What SSM knows of an instance it manages (DescribeInstanceInformation). */
export type ManagedInstance = {
  instanceId: string;
  /** Online, ConnectionLost, Inactive */
  pingStatus: string;
  /** Linux, Windows, MacOS */
  platformType: string;
};

/** The result of an agent repair command on one instance (GetCommandInvocation). */
export type CommandResult = {
  commandId: string;
  instanceId: string;
  /** Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling; Unknown: not found (yet) */
  status: string;
  /** the end of the command's output or error, for the finding */
  output?: string;
};

/** An EC2 state-change notification, as far as the run reads it: which instance to look at, and when. */
export type InstanceStateEvent = {
  id: string;
  account: string;
  region: string;
  /** ISO 8601 */
  time: string;
  detail: { 'instance-id': string; state: InstanceState };
  /**
   * An early signal instead of a state change (a Spot interruption warning, an Auto Scaling terminate lifecycle
   * action): the instance still runs, but its hosts are powered off now and held as *terminating*.
   */
  signal?: EarlySignal;
};

/** What announced an instance's end before EC2 shows it. */
export type EarlySignal = 'spot-interruption' | 'asg-terminate';

/** The ECS task states DescribeTasks reports (`lastStatus`). */
export type TaskStatus = string;

/** What the reconciler needs to know of one ECS task (Fargate or EC2 launch type), as DescribeTasks returns it. */
export type Task = {
  taskArn: string;
  clusterArn: string;
  region: string;
  lastStatus: TaskStatus;
  desiredStatus?: string;
  stoppedReason?: string;
  /** from `include: ["TAGS"]`; the opt-out tag lives here */
  tags: Record<string, string>;
};

/** An ECS task state-change event, as far as the run reads it: which task to look at. */
export type TaskStateEvent = {
  id: string;
  account: string;
  region: string;
  /** ISO 8601 */
  time: string;
  detail: { taskArn: string; clusterArn: string; lastStatus: string; desiredStatus?: string; stoppedReason?: string };
};

/** An open Mackerel alert, as far as closing a powered-off host's alerts needs it (some types have no host). */
export type Alert = {
  id: string;
  status: string;
  type: string;
  hostId?: string;
  monitorId?: string;
  openedAt?: number;
};

/** The finding names (EventBridge detail-types): part of the public contract. */
export const DETAIL_TYPES = [
  'Host Retired',
  'Host Status Changed',
  'Duplicate Hosts Detected',
  'Duplicate Host Merged',
  'IMDS Disabled',
  'IMDS Remediated',
  'Circuit Breaker Tripped',
  'Reconcile Failed',
  'Host Silent',
  'Host Retired While Running',
  'Agent Re-registered',
  'Agent Repair Failed',
  'Alerts Closed',
] as const;
export type DetailType = (typeof DETAIL_TYPES)[number];

/** Something people or other automation should know about: published after the action it reports on. */
export type Finding = {
  detailType: DetailType;
  detail: Record<string, unknown>;
  resources?: string[];
};

/**
 * A Mackerel graph annotation: a marked span on a service's graphs (`POST /api/v0/graph-annotations`). Without
 * `roles` it belongs to the whole service. Times are epoch seconds, `from` ≤ `to`.
 */
export type GraphAnnotation = {
  title: string;
  description: string;
  from: number;
  to: number;
  service: string;
  roles?: string[];
};
