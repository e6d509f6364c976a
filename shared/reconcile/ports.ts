/**
 * Ports: what the domain needs from the outside world, named in its own terms. Adapters implement them and own
 * their protocol's limits (batch sizes, paging, retries) once; the domain never imports an adapter.
 *
 *   HostDirectory  the monitoring backend's host list and host writes   shared/mackerel/client.ts
 *   Fleet          what runs: the instances of each region               shared/ec2/inventory.ts
 *   Ledger         what this account saw and did, exactly once           shared/state/dynamo-ledger.ts,
 *                                                                        shared/state/memory-ledger.ts
 *   FindingSink    where findings go                                     shared/findings/publish.ts
 *   GraphAnnotationSink  marks on the monitoring backend's graphs       shared/mackerel/client.ts
 *   SilenceBackend Alertmanager's silences and alerts (optional)         shared/alertmanager/client.ts
 *   InstanceManager  SSM: which instances it manages, agent repair     shared/ssm/agents.ts
 *   TaskFleet      what runs on ECS: DescribeTasks                       shared/ecs/tasks.ts
 *   AlertDesk      open alerts, and closing them                         shared/mackerel/client.ts
 */
import type {
  Alert,
  CheckReport,
  CommandResult,
  Finding,
  GraphAnnotation,
  ManagedInstance,
  HostList,
  HostStatus,
  Instance,
  Task,
  UnreadableHost,
} from './model.js';
import type { OnProgress } from './progress.js';
import type { CheckMemo, CheckName, InstanceRecord, RestoreMemo, StoredState } from './types.js';
import type { AlertmanagerView, AlertSpec, SilenceSpec } from './silences.js';

// --- HostDirectory ---

/** One item a bulk call could not do, and why. */
export interface Failure<T = string> {
  id: T;
  error: Error;
}

/** The per-item outcome of a bulk write: the adapter cuts the batches, and a failed batch fails only its items. */
export interface BulkOutcome<T = string> {
  done: T[];
  failed: Failure<T>[];
}

/** Filters the event path uses to find one instance's hosts without listing the organisation. */
export interface HostFilter {
  customIdentifier?: string;
  name?: string;
}

export type LatestMetrics = Record<string, Record<string, { time: number; value: number }>>;

/** What `latestMetrics` could read, and the hosts whose entry had the wrong shape. */
export interface LatestMetricsResult {
  latest: LatestMetrics;
  unreadable: UnreadableHost[];
}

export interface ListHostsOptions {
  /**
   * Epoch ms by which the list must have been read (the invocation's time, less what planning and acting
   * need). It aborts an attempt that runs past it, and a retry is started only if a whole attempt still fits.
   */
  deadline?: number;
}

/** A host list as read, and what reading it cost. */
export interface HostListing extends HostList {
  /** body bytes of the attempt that succeeded (as decoded: after any content encoding) */
  bytes: number;
  /** the whole call, retries and waits included */
  durationMs: number;
}

/** The monitoring backend's hosts: read, retire, change status and roles, report checks. */
export interface HostDirectory {
  /** every live host (all statuses); a host of the wrong shape is set aside in `unreadable` */
  listHosts(statuses?: readonly HostStatus[], opts?: ListHostsOptions): Promise<HostListing>;
  findHosts(filter: HostFilter, statuses?: readonly HostStatus[], opts?: ListHostsOptions): Promise<HostListing>;
  /** one host by id as a list of zero or one */
  lookupHost(id: string): Promise<HostList>;
  latestMetrics(hostIds: readonly string[], names: readonly string[]): Promise<LatestMetricsResult>;
  /** a host already retired or unknown counts as done */
  retireHosts(ids: readonly string[]): Promise<BulkOutcome>;
  updateHostStatuses(ids: readonly string[], status: HostStatus): Promise<BulkOutcome>;
  updateRoleFullnames(hostId: string, roleFullnames: readonly string[]): Promise<void>;
  postCheckReports(reports: readonly CheckReport[]): Promise<BulkOutcome<CheckReport>>;
}

// --- GraphAnnotationSink ---

/** Where a run marks what it did on the graphs people already watch (Mackerel graph annotations). */
export interface GraphAnnotationSink {
  /** one annotation; the backend's id of it */
  postGraphAnnotation(annotation: GraphAnnotation): Promise<{ id: string }>;
}

// --- Fleet ---

/** One region's instances, or why they could not be read (never an empty region in disguise). */
export type RegionInventory =
  | { region: string; ok: true; instances: Instance[] }
  | { region: string; ok: false; error: string };

/** Reported while a region is read (a progress line): after each page, and once when it is done or failed. */
export interface RegionProgress {
  region: string;
  pages: number;
  instances: number;
  done: boolean;
  error?: string;
}

export interface Described {
  found: Instance[];
  /** ids the region does not know (now) */
  notFound: string[];
}

/** The compute fleet: the instances of each region, and the one remediation the reconciler may make. */
export interface Fleet {
  /** every instance of each region; a region that cannot be read is `ok: false`, never thrown */
  listRegions(regions: readonly string[], onProgress?: (progress: RegionProgress) => void): Promise<RegionInventory[]>;
  describe(region: string, instanceIds: readonly string[]): Promise<Described>;
  enableMetadataEndpoint(region: string, instanceId: string): Promise<void>;
}

// --- TaskFleet ---

/** What DescribeTasks said of some task ARNs of one cluster: a failed call throws, it is never "missing". */
export interface DescribedTasks {
  found: Task[];
  /** ARNs ECS answered `MISSING` for (it forgets stopped tasks after about an hour) */
  missing: string[];
  /** ARNs ECS answered another failure for (e.g. access denied): unknown, never missing */
  failed: { arn: string; reason: string }[];
}

/** ECS tasks: the adapter cuts ≤ 100 ARNs a call and asks with their tags. */
export interface TaskFleet {
  describeTasks(region: string, cluster: string, taskArns: readonly string[]): Promise<DescribedTasks>;
}

// --- AlertDesk ---

/** The monitoring backend's open alerts: listed once per run (paged by the adapter), closed one by one. */
export interface AlertDesk {
  listOpenAlerts(): Promise<Alert[]>;
  closeAlert(alertId: string, reason: string): Promise<void>;
}

// --- Ledger ---

/** Entries of an instance that outlived their use: dropped by the next write to it. */
export interface StaleEntries {
  /** keys of done actions */
  actions: string[];
  /** ids of handled events */
  events: string[];
}

/** What a ledger knows of some instances, as read. */
export interface LedgerState extends StoredState {
  /** `<instanceId>#<eventId>` of events already handled */
  events: Set<string>;
  /** per instance, entries that have outlived their use (old events, old done actions) */
  stale: Map<string, StaleEntries>;
}

/** What one run writes for one instance before it acts. */
export interface InstanceCommit {
  instanceId: string;
  /** the record as read (undefined: none stored yet); the write is conditional on its version */
  base?: InstanceRecord;
  /** the record to store, when the sighting changed it */
  next?: InstanceRecord;
  /** ledger keys to claim */
  claims: string[];
  /** written with the claim of their poweroff, so that the memo exists before the poweroff it undoes */
  restores: { key: string; memo: RestoreMemo }[];
  /** entries to drop (from LedgerState.stale) */
  prune?: StaleEntries;
}

export interface BeginResult {
  claimed: string[];
  /** keys another run holds: done, or claimed and still leased */
  held: Record<string, 'done' | 'in-progress'>;
  /** the record now stored */
  record?: InstanceRecord;
}

/** What one run writes for one instance after it acts. */
export interface InstanceOutcome {
  instanceId: string;
  done: string[];
  /** claims given back after a failure, so that the next run retries */
  released: string[];
  checks: CheckMemo[];
  forgetRestores: string[];
  forgetChecks: { name: CheckName; hostId: string }[];
  /** events now handled */
  events: string[];
}

/**
 * The ledger: instance records (ownership), memos, the action ledger (each side effect claimed, then done,
 * exactly once across concurrent runs), handled events and the sweep lease. Its rules live in `ledger.ts`;
 * an implementation only stores.
 */
export interface Ledger {
  /** everything known of every instance (the sweep) */
  loadAll(nowS: number): Promise<LedgerState>;
  /** everything known of the given instances */
  loadInstances(instanceIds: readonly string[], nowS: number): Promise<LedgerState>;
  /** before acting: records the sighting, writes restore memos and claims, in one conditional write */
  begin(c: InstanceCommit, runId: string, nowMs: number, leaseMs: number): Promise<BeginResult>;
  /** after acting: marks actions done, gives failed claims back, records memos and handled events */
  finish(o: InstanceOutcome, runId: string, nowMs: number): Promise<void>;
  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

// --- FindingSink ---

export interface PublishResult {
  published: number;
  /** findings still failed after every attempt */
  failed: Finding[];
  /** why they failed, distinct */
  errors: string[];
}

/** Where findings go. Losing a notification must not undo what it reports on: failures are returned. */
export interface FindingSink {
  publish(findings: readonly Finding[]): Promise<PublishResult>;
}

// --- SilenceBackend ---

/**
 * Alertmanager (API v2) beside or instead of Mackerel. Alertmanager has no bulk silence call: the adapter makes
 * one request per silence under a concurrency bound and returns per-item outcomes like the bulk writes.
 */
export interface SilenceBackend {
  /** this service's live silences and firing alerts, for the given instances or (none given) for all */
  view(instanceIds?: readonly string[]): Promise<AlertmanagerView>;
  /** creates or updates silences; outcomes by instance id */
  putSilences(specs: readonly SilenceSpec[]): Promise<BulkOutcome>;
  /** expires silences by id (an already expired or unknown one counts as done) */
  expireSilences(ids: readonly string[]): Promise<BulkOutcome>;
  /** posts alerts (one request for many); outcomes by instance id */
  postAlerts(alerts: readonly AlertSpec[]): Promise<BulkOutcome>;
}

// --- InstanceManager ---

/** One repair command sent: its id, for reading its result on a later run. */
export interface SentCommand {
  instanceId: string;
  commandId: string;
}

/**
 * SSM's view of the instances and the agent repair (Run Command). The adapter cuts the batches (50 instance ids a
 * call) and pages; a failed batch fails only its own ids.
 */
export interface InstanceManager {
  /** the given instances SSM manages (one call for many, paged); an instance absent from the answer is not managed */
  describeManaged(region: string, instanceIds: readonly string[]): Promise<ManagedInstance[]>;
  /** stop mackerel-agent, remove its host id file, start it (AWS-RunShellScript) */
  reregisterAgents(region: string, instanceIds: readonly string[]): Promise<BulkOutcome<SentCommand>>;
  /** the result of a command sent earlier on one instance; status `Unknown` when SSM does not know it (yet) */
  commandResult(region: string, commandId: string, instanceId: string): Promise<CommandResult>;
}

// --- one run's wiring ---

/** The ports one run acts through. */
export interface Ports {
  hosts: HostDirectory;
  fleet: Fleet;
  ledger: Ledger;
  findings: FindingSink;
  /** Alertmanager, when ALERTMANAGER_URL is set */
  silences?: SilenceBackend;
  /** SSM; absent: no health look-ups through SSM and no agent repair */
  agents?: InstanceManager;
  /** absent: no ECS (container hosts stay unknown) */
  tasks?: TaskFleet;
  /** absent: no alerts are closed (the planner plans no close-alerts then) */
  alerts?: AlertDesk;
}

/** The settings a run reads (the deployment's configuration, or the command line's flags). */
export interface Settings {
  regions: string[];
  dryRun: boolean;
  maxRetirePerRun: number;
  maxRetirePercent: number;
  duplicateStaleMinutes: number;
  imdsRemediate: boolean;
  /** mark a run's retirements and poweroffs on its services' graphs (GRAPH_ANNOTATIONS); unset = on */
  graphAnnotations?: boolean;
  /** SILENT_MINUTES (default 15) */
  silentMinutes?: number;
  /** AGENT_REPAIR (default false) */
  agentRepair?: boolean;
  /** AGENT_REPAIR_HOURS (default 24) */
  agentRepairHours?: number;
  /** how long hosts powered off for an early signal stay off while their instance still runs (default 60) */
  terminatingHoldMinutes?: number;
}

/** What a run logs through: the Powertools JSON logger in Lambda, a stderr logger on the command line. */
export interface RunLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** An adapter that counts the requests it had to repeat (429, 5xx, throttling), for the report. */
export interface Counted {
  readonly stats: { readonly retries: number };
}

/**
 * What a run is given: the runtime of `shared/runtime.ts` (built once per Lambda container, or by the command
 * line), seen through the ports. Its field names are the runtime's; `portsOf` names them by role.
 */
export interface RunContext {
  config: Settings;
  accountId: string;
  mackerel: HostDirectory & Counted;
  inventory: Fleet & Counted;
  store: Ledger;
  publisher: FindingSink;
  /** SSM (shared/ssm/agents.ts); absent: no SSM look-ups, no agent repair */
  ssm?: InstanceManager;
  logger: RunLogger;
  clock: () => number;
  /** told what observe has read so far; only the command line listens */
  onProgress?: OnProgress;
  /** where graph annotations go (the Mackerel client); absent = none are made */
  annotations?: GraphAnnotationSink;
  /** runs a step of the run (observe, plan, execute) as a named trace segment; absent = untraced */
  trace?: Trace;
  /** Alertmanager, when ALERTMANAGER_URL is set */
  alertmanager?: SilenceBackend & Counted;
  /** ECS DescribeTasks (container hosts) */
  tasks?: TaskFleet & Counted;
  /** open alerts (the Mackerel client in a deployment) */
  alerts?: AlertDesk;
}

/** Runs `fn` as the named segment of a trace (Powertools Tracer in Lambda); the domain never imports a tracer. */
export type Trace = <T>(name: string, fn: () => T) => T;

export const portsOf = (rt: RunContext): Ports => ({
  hosts: rt.mackerel,
  fleet: rt.inventory,
  ledger: rt.store,
  findings: rt.publisher,
  ...(rt.alertmanager ? { silences: rt.alertmanager } : {}),
  ...(rt.ssm ? { agents: rt.ssm } : {}),
  tasks: rt.tasks,
  alerts: rt.alerts,
});
