/**
 * Container hosts: mackerel-container-agent registers one host per ECS task, named by the task id, with
 * `meta.cloud = {provider, metadata: {cluster, task, task_arn, …}}` — provider `ecs` (EC2 launch type),
 * `fargate`, `ecs-managed` or `ecs-anywhere` (mackerelio/mackerel-container-agent platform/ecs/provider.go,
 * platform/ecs/spec.go `generateSpec`/`Hostname: spec.Task`, platform/ecs/types.go `taskSpec`). Such a host
 * links to its task by `task_arn`, never weakly to an instance. The ARN carries the account: a task of another
 * account is foreign. STOPPED retires the task's hosts; MISSING (ECS forgets stopped tasks after about an hour,
 * and may not show a new one yet) retires only hosts created over an hour ago.
 */
import { byCodeUnit } from './actions.js';
import { hasIgnoreTag } from './link.js';
import type { Finding, Host } from './model.js';
import type { Action, Observation, RetireAction } from './types.js';
import { clusterName, MISSING_MIN_HOST_AGE_S, type TaskArn, type TaskRef, taskOf, taskSubject } from './container-host.js';

export * from './container-host.js';

export interface TaskVerdicts {
  actions: Action[];
  foreignHostIds: string[];
  ignoredTaskArns: string[];
  unknownTaskArns: string[];
  /** container hosts of this account's tasks (the circuit breaker counts them as owned) */
  ownedHostIds: string[];
}

function retireTaskHost(t: TaskArn, clusterArn: string, h: Host, why: 'task-stopped' | 'task-missing', reason: string): RetireAction {
  const hostName = h.displayName || h.name;
  const finding: Finding = {
    detailType: 'Host Retired',
    detail: { taskArn: t.arn, clusterArn, region: t.region, hostId: h.id, hostName, reason: why },
  };
  return {
    kind: 'retire',
    key: `retire#${h.id}`,
    instanceId: taskSubject(t.arn),
    region: t.region,
    hostId: h.id,
    hostName,
    retireReason: why,
    reason,
    findings: [finding],
  };
}

/** The container hosts of the observation's tasks, by task ARN (retired hosts are nobody's). */
export function containerHostsByTask(hosts: readonly Host[]): Map<string, { task: TaskRef; hosts: Host[] }> {
  const out = new Map<string, { task: TaskRef; hosts: Host[] }>();
  for (const h of hosts) {
    if (h.isRetired) continue;
    const task = taskOf(h);
    if (!task) continue;
    const entry = out.get(task.arn);
    if (entry) entry.hosts.push(h);
    else out.set(task.arn, { task, hosts: [h] });
  }
  return out;
}

/** The rules for container hosts: a pure function of the observation (`now` included). */
export function planTasks(obs: Observation): TaskVerdicts {
  const out: TaskVerdicts = { actions: [], foreignHostIds: [], ignoredTaskArns: [], unknownTaskArns: [], ownedHostIds: [] };
  const t = obs.tasks;
  if (!t) return out;
  const found = new Map(t.found.map((x) => [x.taskArn, x]));
  const missing = new Set(t.missing);
  const unknown = new Set(t.unknown);
  const targets = t.mode === 'tasks' ? new Set(t.targetArns ?? []) : undefined;
  const oldBefore = Math.floor(obs.now / 1000) - MISSING_MIN_HOST_AGE_S;
  const groups = [...containerHostsByTask(obs.hosts)].sort(([a], [b]) => byCodeUnit(a, b));
  for (const [arn, { task, hosts }] of groups) {
    if (targets && !targets.has(arn)) continue;
    const sorted = [...hosts].sort((a, b) => byCodeUnit(a.id, b.id));
    if (task.account !== t.accountId) {
      out.foreignHostIds.push(...sorted.map((h) => h.id));
      continue;
    }
    out.ownedHostIds.push(...sorted.map((h) => h.id));
    const described = found.get(arn);
    if (described && hasIgnoreTag(described.tags)) {
      out.ignoredTaskArns.push(arn);
    } else if (described?.lastStatus === 'STOPPED') {
      const why = `task ${arn} is STOPPED${described.stoppedReason ? ` (${described.stoppedReason})` : ''}`;
      out.actions.push(...sorted.map((h) => retireTaskHost(task, described.clusterArn, h, 'task-stopped', why)));
    } else if (!described && missing.has(arn)) {
      const why = `task ${arn} is MISSING from DescribeTasks (ECS forgot it) and its host is over an hour old`;
      const clusterArn = `arn:aws:ecs:${task.region}:${task.account}:cluster/${clusterName(task.clusterRef)}`;
      const old = sorted.filter((h) => h.createdAt <= oldBefore);
      out.actions.push(...old.map((h) => retireTaskHost(task, clusterArn, h, 'task-missing', why)));
    } else if (!described && (unknown.has(arn) || !missing.has(arn))) {
      out.unknownTaskArns.push(arn);
    }
  }
  return out;
}
