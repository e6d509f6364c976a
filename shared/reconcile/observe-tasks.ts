/**
 * Observe ECS tasks: DescribeTasks for the task ARNs container hosts name, grouped by region and cluster
 * (the adapter cuts ≤ 100 a call). Only this account's tasks in the configured regions are asked about; a failed
 * call or a failure other than MISSING leaves its tasks *unknown*, never missing.
 */
import { mapLimit } from '../util/concurrency.js';
import type { Host } from './model.js';
import type { TaskFleet } from './ports.js';
import { clusterName, containerHostsByTask } from './tasks.js';
import type { TaskObservation } from './types.js';

const DESCRIBE_CONCURRENCY = 4;

export interface TaskLook {
  accountId: string;
  regions: readonly string[];
  mode: TaskObservation['mode'];
  targetArns?: string[];
}

export async function observeTasks(
  tasks: TaskFleet | undefined,
  hosts: readonly Host[],
  look: TaskLook,
): Promise<TaskObservation> {
  const obs: TaskObservation = {
    accountId: look.accountId,
    mode: look.mode,
    ...(look.targetArns ? { targetArns: look.targetArns } : {}),
    found: [],
    missing: [],
    unknown: [],
  };
  const targets = look.targetArns ? new Set(look.targetArns) : undefined;
  const groups = new Map<string, { region: string; cluster: string; arns: string[] }>();
  for (const [arn, { task }] of containerHostsByTask(hosts)) {
    if (task.account !== look.accountId || (targets && !targets.has(arn))) continue;
    if (!tasks || !look.regions.includes(task.region)) {
      obs.unknown.push(arn);
      continue;
    }
    const cluster = clusterName(task.clusterRef);
    const key = `${task.region} ${cluster}`;
    const g = groups.get(key);
    if (g) g.arns.push(arn);
    else groups.set(key, { region: task.region, cluster, arns: [arn] });
  }
  if (!tasks) return obs;
  await mapLimit([...groups.values()], DESCRIBE_CONCURRENCY, async (g) => {
    try {
      const res = await tasks.describeTasks(g.region, g.cluster, g.arns);
      obs.found.push(...res.found);
      obs.missing.push(...res.missing);
      obs.unknown.push(...res.failed.map((f) => f.arn));
    } catch {
      // A failed call is not "missing": these tasks are unknown this run.
      obs.unknown.push(...g.arns);
    }
  });
  return obs;
}
