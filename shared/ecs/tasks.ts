/**
 * ECS tasks: DescribeTasks turned into validated `Task`s. The API takes at most 100 task ARNs of one cluster a
 * call; this adapter cuts the calls. Unknown ARNs come back in `failures` with `reason: "MISSING"` (ECS forgets
 * stopped tasks after about an hour); any other failure reason is *unknown*, and a failed call throws — it is
 * never read as "missing".
 */
import { DescribeTasksCommand, ECSClient, type Task as EcsTask } from '@aws-sdk/client-ecs';
import { ReconcileError } from '../errors.js';
import type { Task } from '../reconcile/model.js';
import type { DescribedTasks, TaskFleet } from '../reconcile/ports.js';

export const DESCRIBE_TASKS_LIMIT = 100;

/** DescribeTasks returned something this adapter cannot trust. */
export class EcsShapeError extends ReconcileError {
  override readonly name = 'EcsShapeError';
  constructor(
    readonly region: string,
    readonly field: string,
    detail: string,
  ) {
    super(`ECS DescribeTasks in ${region}: ${field} ${detail}`);
  }
}

export interface EcsTasksOptions {
  clientFor?: (region: string) => ECSClient;
  /** attempts per command, SDK retries included; default 6 */
  maxAttempts?: number;
}

const cut = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

function toTask(region: string, t: EcsTask, i: number): Task {
  const at = `tasks.${i}`;
  if (typeof t.taskArn !== 'string' || !t.taskArn) throw new EcsShapeError(region, `${at}.taskArn`, 'is missing');
  if (typeof t.lastStatus !== 'string') throw new EcsShapeError(region, `${at}.lastStatus`, 'is missing');
  const tags: Record<string, string> = {};
  for (const tag of t.tags ?? []) if (tag.key !== undefined) tags[tag.key] = tag.value ?? '';
  return {
    taskArn: t.taskArn,
    clusterArn: t.clusterArn ?? '',
    region,
    lastStatus: t.lastStatus,
    ...(t.desiredStatus ? { desiredStatus: t.desiredStatus } : {}),
    ...(t.stoppedReason ? { stoppedReason: cut(t.stoppedReason) } : {}),
    tags,
  };
}

export class EcsTasks implements TaskFleet {
  readonly stats = { describeTasksCalls: 0, retries: 0 };
  readonly #clientFor: (region: string) => ECSClient;

  constructor(opts: EcsTasksOptions = {}) {
    const maxAttempts = opts.maxAttempts ?? 6;
    const clients = new Map<string, ECSClient>();
    // The SDK picks up AWS_ENDPOINT_URL_ECS by itself; passing an endpoint here would override it.
    this.#clientFor =
      opts.clientFor ??
      ((region) => {
        let client = clients.get(region);
        if (!client) {
          client = new ECSClient({ region, maxAttempts });
          clients.set(region, client);
        }
        return client;
      });
  }

  async describeTasks(region: string, cluster: string, taskArns: readonly string[]): Promise<DescribedTasks> {
    const out: DescribedTasks = { found: [], missing: [], failed: [] };
    const arns = [...new Set(taskArns)];
    for (let i = 0; i < arns.length; i += DESCRIBE_TASKS_LIMIT) {
      const batch = arns.slice(i, i + DESCRIBE_TASKS_LIMIT);
      this.stats.describeTasksCalls++;
      const res = await this.#clientFor(region).send(
        new DescribeTasksCommand({ cluster, tasks: batch, include: ['TAGS'] }),
      );
      this.stats.retries += Math.max(0, (res.$metadata?.attempts ?? 1) - 1);
      if (res.tasks !== undefined && !Array.isArray(res.tasks)) throw new EcsShapeError(region, 'tasks', 'is not an array');
      out.found.push(...(res.tasks ?? []).map((t, j) => toTask(region, t, j)));
      for (const f of res.failures ?? []) {
        if (!f.arn) continue;
        if (f.reason === 'MISSING') out.missing.push(f.arn);
        else out.failed.push({ arn: f.arn, reason: f.reason ?? 'unknown failure' });
      }
    }
    return out;
  }
}
