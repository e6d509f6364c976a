/**
 * The bench fleet's ECS part (#12): mackerel-container-agent hosts of Fargate tasks in two clusters (one in five
 * stops during the drift, and its host is retired), and open alerts (one on each host that will be powered off,
 * closed by the sweep, plus alerts on healthy hosts and hostless ones that nothing may touch). Seeded into the fakes
 * beside the instances; the planner benchmark's observation leaves it out.
 */
import { containerAgentHost, type FakeEcs, type FakeMackerel } from '../sandbox/index.js';
import { mulberry32, randomInt } from '../sandbox/random.js';
import type { Fleet } from './fleet.js';

export const TASK_CLUSTERS = ['web', 'batch'] as const;

export interface FleetTask {
  cluster: (typeof TASK_CLUSTERS)[number];
  stopsInDrift: boolean;
  /** set once seeded (the fake makes the ARN) */
  taskArn?: string;
  hostId?: string;
}

export interface TaskWork {
  tasks: FleetTask[];
  /** task ARNs per cluster that container hosts name (DescribeTasks' minimum: ⌈n/100⌉ each) */
  tasksPerCluster: number[];
  /** container hosts retired (their task stopped) */
  retirements: number;
  /** alerts on hosts the sweep powers off: closed, one `Alerts Closed` per host */
  alertsClosed: number;
  /** open alerts when the sweep lists them (its pages: ⌈n/100⌉) */
  openAlerts: number;
}

/** One task per 50 instances (at least 2), split over the clusters; the description only (pure). */
export function generateTasks(fleet: Pick<Fleet, 'size' | 'seed' | 'instances'>): TaskWork {
  const rng = mulberry32(fleet.seed ^ 0x3c6ef372);
  const n = Math.max(2, Math.round(fleet.size / 50));
  const tasks: FleetTask[] = Array.from({ length: n }, (_, i) => ({
    cluster: TASK_CLUSTERS[i % TASK_CLUSTERS.length] as FleetTask['cluster'],
    stopsInDrift: i % 5 === 0,
  }));
  const perCluster = TASK_CLUSTERS.map((c) => tasks.filter((t) => t.cluster === c).length);
  const stopped = fleet.instances.filter((i) => i.group === 'stop').length;
  const noise = Math.max(1, Math.round(fleet.size / 100)) + randomInt(rng, 0, 1);
  return {
    tasks,
    tasksPerCluster: perCluster,
    retirements: tasks.filter((t) => t.stopsInDrift).length,
    alertsClosed: stopped,
    openAlerts: stopped + noise + 1,
  };
}

/** Day 0: every task running with its container-agent host (created two hours ago). */
export function seedTasksDay0(work: TaskWork, fakes: { ecs: FakeEcs; mackerel: FakeMackerel }, nowS: number): void {
  for (const t of work.tasks) {
    const task = fakes.ecs.addTask({ cluster: t.cluster });
    t.taskArn = task.taskArn;
    t.hostId = fakes.mackerel.addHost({ ...containerAgentHost(task.taskArn), createdAt: nowS - 7200 }).id;
  }
}

/** The drift: tasks stop; alerts open on the hosts of instances that stop, on a few healthy hosts, and one without a host. */
export function driftTasks(work: TaskWork, fleet: Fleet, fakes: { ecs: FakeEcs; mackerel: FakeMackerel }): void {
  for (const t of work.tasks) if (t.stopsInDrift && t.taskArn) fakes.ecs.stopTask(t.taskArn);
  const stopping = new Set(fleet.instances.filter((i) => i.group === 'stop').map((i) => i.instanceId));
  const integration = fleet.hosts.filter((h) => h.kind === 'integration');
  for (const h of integration.filter((x) => stopping.has(x.instanceId))) fakes.mackerel.addAlert({ hostId: h.id });
  const steady = new Set(fleet.instances.filter((i) => i.group === 'steady').map((i) => i.instanceId));
  const healthy = integration.filter((x) => steady.has(x.instanceId));
  const noise = work.openAlerts - work.alertsClosed - 1;
  for (let i = 0; i < noise; i++) fakes.mackerel.addAlert({ hostId: healthy[i % healthy.length]?.id, type: 'host', monitorId: 'cpu' });
  fakes.mackerel.addAlert({ type: 'service', monitorId: 'svc' });
}
