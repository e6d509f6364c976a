import type {
  CheckStatus,
  CommandResult,
  EarlySignal,
  Finding,
  Host,
  HostStatus,
  Instance,
  InstanceState,
  ManagedInstance,
  Task,
} from './model.js';
import type { AlertmanagerView } from './silences.js';

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

export type CheckName =
  | 'imds-disabled'
  | 'duplicate-host'
  | 'host-silent'
  | 'imds-agent-too-old'
  // instance memos (hostId = the instance id): the last agent repair, a retirement while running published
  | 'agent-repair'
  | 'retired-while-running';

/** The last check status this service reported for a host. */
export interface CheckMemo {
  instanceId: string;
  hostId: string;
  name: CheckName;
  status: CheckStatus;
  changedAt: number;
  /** what the memo refers to besides its status (an agent repair's command id) */
  ref?: string;
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

/** Alertmanager: create a silence, or extend (or shorten) one of this service's in place. */
export interface SilenceAction extends ActionBase {
  kind: 'am-silence';
  /** epoch ms */
  endsAt: number;
  /** the silence changed in place; absent: a new one */
  existing?: { id: string; startsAt: number };
}

/** Alertmanager: expire one of this service's silences (the instance runs again, or a second one was found). */
export interface ExpireSilenceAction extends ActionBase {
  kind: 'am-expire';
  silenceId: string;
}

/** Alertmanager: post an alert, firing until `endsAt`, or resolved (`endsAt` now). */
export interface PostAlertAction extends ActionBase {
  kind: 'am-alert';
  alertname: string;
  firing: boolean;
  /** epoch ms */
  endsAt: number;
}

/** Agent repair over SSM Run Command: forget the agent's host id and restart it (AGENT_REPAIR=true). */
export interface RepairAgentAction extends ActionBase {
  kind: 'repair-agent';
  region: string;
  /** why: the hosts were retired while the instance runs, or a duplicate still reports with IMDS enabled */
  cause: 'retired-while-running' | 'duplicate-reporting';
  hostIds: string[];
}

/** State-only: publishes its findings once and keeps an instance memo (the repair's result, a phase's notice). */
export interface RememberAction extends ActionBase {
  kind: 'remember';
  memo: Omit<CheckMemo, 'instanceId'>;
}

export type Action =
  | RetireAction
  | SetStatusAction
  | MergeRolesAction
  | ReportCheckAction
  | EnableImdsAction
  | ForgetMemoAction
  | SilenceAction
  | ExpireSilenceAction
  | PostAlertAction
  | RepairAgentAction
  | RememberAction
  | CloseAlertsAction;
export type ActionKind = Action['kind'];

export interface Policy {
  dryRun: boolean;
  maxRetirePerRun: number;
  maxRetirePercent: number;
  duplicateStaleMinutes: number;
  imdsRemediate: boolean;
  /** sweeps only: an event or replay of given instances acts on one instance at a time */
  circuitBreaker: boolean;
  /** SILENT_MINUTES (default 15): a running instance's agent host without loadavg5 this long is silent */
  silentMinutes?: number;
  /** AGENT_REPAIR: re-register the agent over SSM Run Command */
  agentRepair?: boolean;
  /** AGENT_REPAIR_HOURS (default 24): at most one repair per instance this often */
  agentRepairHours?: number;
  /** minutes an early signal's poweroff is held while the instance still runs (absent: 60) */
  terminatingHoldMinutes?: number;
  /** close the open alerts of hosts powered off (only with an alerts backend) */
  closeAlerts?: boolean;
}

/** What observe read for the health diagnoses, only for the instances that need it (none in a converged fleet). */
export interface HealthObservation {
  /** SSM's view of the instances diagnosed or repaired, by instance id; absent: not asked or not readable */
  managed: Record<string, ManagedInstance>;
  /** instance ids SSM was asked about (an id asked and absent from `managed` is not managed) */
  asked: string[];
  /** the result of each instance's last repair command still awaited, by instance id */
  commands: Record<string, CommandResult>;
  /** per running instance with no live host: the hosts recorded as linked to it, now all retired */
  retiredHostIds: Record<string, string[]>;
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
  /** Alertmanager's silences and alerts of this service; absent while that backend is off */
  alertmanager?: AlertmanagerView;
  /** host health (shared/reconcile/health-observe.ts); absent: not read */
  health?: HealthObservation;
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
