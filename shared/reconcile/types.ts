import type { CheckStatus, EarlySignal, Finding, Host, HostStatus, Instance, InstanceState, Task } from './model.js';

/** What the store remembers of an instance this account has seen: proof of ownership and the last state. */
export interface InstanceRecord {
  instanceId: string;
  region: string;
  accountId: string;
  state: InstanceState;
  /** epoch seconds of the newest state information we acted on (event time or sweep time) */
  stateTime: number;
  /** bumped when the instance goes up, down or ends (not stopping→stopped); keys each cycle's actions once */
  version: number;
  firstSeenAt: number;
  lastSeenAt: number;
  ignored: boolean;
  privateDnsName?: string;
  privateIpAddress?: string;
  launchTime?: number;
  /** hosts linked to this instance at the last observation (strong and weak) */
  linkedHostIds: string[];
  /** epoch seconds a sweep first found it no longer returned by DescribeInstances */
  goneAt?: number;
  /**
   * epoch seconds DescribeInstances first returned it: the evidence "gone" needs (right after launch EC2 may
   * answer NotFound for an instance that exists, so a miss means gone only for an instance EC2 showed us)
   */
  describedAt?: number;
}

/** The status a host had before this service set it to poweroff. */
export interface RestoreMemo {
  instanceId: string;
  hostId: string;
  status: HostStatus;
  setAt: number;
  /** powered off for an early signal (Spot warning, ASG terminate) while the instance still ran: see terminating.ts */
  terminating?: boolean;
}

export type CheckName = 'imds-disabled' | 'duplicate-host';

/** The last check status this service reported for a host. */
export interface CheckMemo {
  instanceId: string;
  hostId: string;
  name: CheckName;
  status: CheckStatus;
  changedAt: number;
}

export interface StoredState {
  records: InstanceRecord[];
  restores: RestoreMemo[];
  checks: CheckMemo[];
}

export type LinkStrength = 'custom-identifier' | 'cloud-meta' | 'weak';
export interface Link {
  hostId: string;
  instanceId: string;
  strength: LinkStrength;
}

export interface Ambiguity {
  hostId: string;
  candidates: string[];
}

export type RetireReason =
  | 'instance-terminated'
  | 'instance-gone'
  | 'duplicate-stale'
  | 'task-stopped'
  | 'task-missing';

/** The state of an owned instance the planner acts on: EC2's, or `gone` (owned, no longer returned by EC2). */
export type EffectiveState = InstanceState | 'gone';

interface ActionBase {
  /** ledger key: one side effect, performed at most once */
  key: string;
  instanceId: string;
  /** the state the action was decided on (`gone`: owned, no longer returned by EC2); absent for memo clean-up */
  instanceState?: EffectiveState;
  reason: string;
  /** published after the action succeeds */
  findings: Finding[];
  /** performed only once the action with this key is done (else `deferred`, for the next run) */
  dependsOn?: string;
}

export interface RetireAction extends ActionBase {
  kind: 'retire';
  hostId: string;
  hostName: string;
  retireReason: RetireReason;
  region?: string;
}

export interface SetStatusAction extends ActionBase {
  kind: 'set-status';
  hostId: string;
  hostName: string;
  from: HostStatus;
  to: HostStatus;
  /** poweroff remembers the previous status so that a start can restore it */
  remember?: HostStatus;
  /** restores clear the memo once done */
  restoring: boolean;
  /** a poweroff for an early signal: its memo holds the host off while the instance still runs */
  terminating?: boolean;
}

/** Closes the open alerts of a host this run powers off (a status change does not close them). */
export interface CloseAlertsAction extends ActionBase {
  kind: 'close-alerts';
  hostId: string;
  hostName: string;
  /** the host's open alerts, as listed once for the run */
  alertIds: string[];
}

export interface MergeRolesAction extends ActionBase {
  kind: 'merge-roles';
  hostId: string;
  roleFullnames: string[];
  duplicateHostIds: string[];
}

export interface ReportCheckAction extends ActionBase {
  kind: 'report-check';
  hostId: string;
  name: CheckName;
  status: CheckStatus;
  message: string;
}

export interface EnableImdsAction extends ActionBase {
  kind: 'enable-imds';
  region: string;
}

/** State-only housekeeping: a memo that no longer means anything. */
export interface ForgetMemoAction extends ActionBase {
  kind: 'forget-memo';
  hostId: string;
  memo: 'restore' | CheckName;
}

export type Action =
  | RetireAction
  | SetStatusAction
  | MergeRolesAction
  | ReportCheckAction
  | EnableImdsAction
  | CloseAlertsAction
  | ForgetMemoAction;
export type ActionKind = Action['kind'];

export interface Policy {
  dryRun: boolean;
  maxRetirePerRun: number;
  maxRetirePercent: number;
  duplicateStaleMinutes: number;
  imdsRemediate: boolean;
  /** sweeps only: an event or replay of given instances acts on one instance at a time */
  circuitBreaker: boolean;
  /** minutes an early signal's poweroff is held while the instance still runs (absent: 60) */
  terminatingHoldMinutes?: number;
  /** close the open alerts of hosts powered off (only with an alerts backend) */
  closeAlerts?: boolean;
}

/** What DescribeTasks said of the tasks container hosts name (absent from an observation: no ECS look). */
export interface TaskObservation {
  /** this account: a task ARN of another account is foreign */
  accountId: string;
  /** sweep: every container host; tasks: only hosts of `targetArns` */
  mode: 'fleet' | 'tasks';
  targetArns?: string[];
  found: Task[];
  missing: string[];
  /** ARNs whose look failed (a failed call, a region not configured, another failure): unknown */
  unknown: string[];
}

export interface RegionStatus {
  region: string;
  ok: boolean;
  /** instances DescribeInstances returned (fleet mode) */
  instanceCount: number;
  error?: string;
}

/** Everything the planner needs, already read and validated. */
export interface Observation {
  /** epoch milliseconds */
  now: number;
  /**
   * fleet: full inventories of `regions` (an owned instance missing from an ok, non-empty region is gone);
   * instances: a targeted look-up of `targetIds` (only ids EC2 explicitly denied are gone).
   */
  mode: 'fleet' | 'instances';
  targetIds?: string[];
  regions: RegionStatus[];
  hosts: Host[];
  instances: Instance[];
  /** ids DescribeInstances answered NotFound for (instances mode) */
  notFound: string[];
  state: StoredState;
  /** latest loadavg5 time (epoch s) of duplicate candidates; absent = no data */
  latestMetricTime: Record<string, number>;
  /** ECS tasks named by container hosts */
  tasks?: TaskObservation;
  /** instances an early signal (Spot warning, ASG terminate) says are about to end, by id */
  terminating?: Record<string, EarlySignal>;
}

export interface CircuitBreakerState {
  tripped: boolean;
  retirements: number;
  ownedHosts: number;
  maxPerRun: number;
  maxPercent: number;
}

export interface Plan {
  actions: Action[];
  /** findings that belong to no single action (the circuit breaker) */
  findings: Finding[];
  links: Link[];
  /** linked host ids per owned instance, to remember for later runs */
  linkedHostIds: Map<string, string[]>;
  ambiguities: Ambiguity[];
  foreignHostIds: string[];
  ignoredInstanceIds: string[];
  /** instances whose state cannot be known now (failed region, out of scope) */
  unknownInstanceIds: string[];
  /** owned instances EC2 no longer returns */
  goneInstanceIds: string[];
  circuitBreaker?: CircuitBreakerState;
  /** actions a fleet-wide guard held back, each with why: reported `held`, never performed */
  held?: { action: Action; reason: string }[];
  /** container hosts whose task is of another account */
  foreignTaskHostIds?: string[];
  /** tasks opted out by their tag, and tasks whose state cannot be known now */
  ignoredTaskArns?: string[];
  unknownTaskArns?: string[];
}
