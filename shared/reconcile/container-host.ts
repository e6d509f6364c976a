/**
 * Which hosts mackerel-container-agent registered, and for which ECS task: `meta.cloud.provider` is `ecs` (EC2
 * launch type), `fargate`, `ecs-managed` or `ecs-anywhere` (mackerelio/mackerel-container-agent
 * platform/ecs/provider.go), `meta.cloud.metadata` is its `taskSpec` (platform/ecs/types.go: `cluster`, `task`,
 * `task_arn`, …) and the host is named by the task id (platform/ecs/spec.go: `Hostname: spec.Task`).
 * No imports but the model's types: matching and the task rules both read it.
 */
import type { Host } from './model.js';

export const CONTAINER_PROVIDERS = ['ecs', 'fargate', 'ecs-managed', 'ecs-anywhere'] as const;
/** a MISSING task retires only hosts older than this: a new task may not be visible to DescribeTasks yet */
export const MISSING_MIN_HOST_AGE_S = 3600;
/** The ledger subject of a task: its actions are claimed in an item of its own (pk `TASK#<arn>`). */
export const TASK_SUBJECT = 'TASK#';
export const taskSubject = (arn: string) => `${TASK_SUBJECT}${arn}`;
export const isTaskSubject = (id: string) => id.startsWith(TASK_SUBJECT);

const TASK_ARN = /^arn:(aws[a-z-]*):ecs:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):task\/(?:([A-Za-z0-9_-]{1,255})\/)?([A-Za-z0-9]{1,64})$/;

export interface TaskArn {
  arn: string;
  region: string;
  account: string;
  /** the cluster name (new-format ARNs only) */
  cluster?: string;
  taskId: string;
}

export function parseTaskArn(arn: string): TaskArn | undefined {
  const m = TASK_ARN.exec(arn);
  if (!m) return undefined;
  return { arn, region: m[2] as string, account: m[3] as string, cluster: m[4], taskId: m[5] as string };
}

/** The task a container host names, with the cluster DescribeTasks needs (old-format ARNs: the meta's, else `default`). */
export function taskOf(host: Host): (TaskArn & { clusterRef: string }) | undefined {
  const cloud = host.meta.cloud;
  if (!cloud?.provider || !(CONTAINER_PROVIDERS as readonly string[]).includes(cloud.provider)) return undefined;
  const raw = cloud.metadata?.task_arn;
  const parsed = typeof raw === 'string' ? parseTaskArn(raw) : undefined;
  if (!parsed) return undefined;
  const metaCluster = cloud.metadata?.cluster;
  const clusterRef = parsed.cluster ?? (typeof metaCluster === 'string' && metaCluster ? metaCluster : 'default');
  return { ...parsed, clusterRef };
}

export const isContainerHost = (host: Host) => taskOf(host) !== undefined;

export type TaskRef = NonNullable<ReturnType<typeof taskOf>>;

/** The cluster name of a cluster reference (a name or an ARN), for grouping. */
export const clusterName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);

