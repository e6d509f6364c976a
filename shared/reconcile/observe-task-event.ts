/**
 * Observe one ECS task for its state-change event, without listing the organisation: the task's hosts are found
 * with `GET /api/v0/hosts?name=<task id>` (mackerel-container-agent names its host by the task id:
 * platform/ecs/spec.go `Hostname: spec.Task`) and kept only when their `meta.cloud.metadata.task_arn` is the
 * event's task; DescribeTasks is asked only when such a host exists.
 */
import type { HostList, TaskStateEvent } from './model.js';
import type { Observed, ObserveDeps } from './observe.js';
import { observeTasks } from './observe-tasks.js';
import { parseTaskArn, taskOf } from './tasks.js';

export async function observeTaskEvent(
  deps: ObserveDeps,
  event: TaskStateEvent,
  regions: readonly string[],
  now: number,
): Promise<Observed> {
  const arn = event.detail.taskArn;
  const taskId = parseTaskArn(arn)?.taskId;
  const list: HostList = taskId ? await deps.hosts.findHosts({ name: taskId }) : { hosts: [], unreadable: [] };
  const hosts = list.hosts.filter((h) => taskOf(h)?.arn === arn);
  const tasks = await observeTasks(hosts.length > 0 ? deps.tasks : undefined, hosts, {
    accountId: deps.accountId,
    regions,
    mode: 'tasks',
    targetArns: [arn],
  });
  const stored = { records: [], restores: [], checks: [], events: new Set<string>(), stale: new Map() };
  return {
    observation: {
      now,
      mode: 'instances',
      targetIds: [],
      regions: [],
      hosts,
      instances: [],
      notFound: [],
      state: { records: [], restores: [], checks: [] },
      latestMetricTime: {},
      tasks,
    },
    stored,
    unreadableHosts: list.unreadable,
  };
}
