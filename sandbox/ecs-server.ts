// A fake Amazon ECS API (JSON 1.1: POST /, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>`) for the
// real @aws-sdk/client-ecs, reached through AWS_ENDPOINT_URL_ECS. DescribeTasks (≤ 100 ARNs of one cluster,
// unknown ones in `failures` with reason MISSING, tags with `include: ["TAGS"]`) and ListTasks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, readBody, sleep } from './http.js';
import { HEX, randomChars } from './random.js';

export const DESCRIBE_TASKS_MAX = 100;
const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

export interface FakeTask {
  taskArn: string;
  clusterArn: string;
  region: string;
  lastStatus: string;
  desiredStatus: string;
  stoppedReason?: string;
  launchType: 'EC2' | 'FARGATE';
  tags: Record<string, string>;
  /** ECS forgot it (about an hour after it stopped): DescribeTasks answers MISSING */
  forgotten: boolean;
}

export interface EcsCallLogEntry {
  action: string;
  region: string;
  params: Record<string, unknown>;
  status: number;
  at: number;
}

/** An injected fault: the next `times` calls of `action` answer `status` with `__type` (400s are not retried). */
export interface EcsFault {
  action?: string;
  status: number;
  type: string;
  times: number;
}

class EcsApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const regionOf = (req: IncomingMessage) =>
  /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/ecs\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unknown';

export class FakeEcs extends FakeServer {
  readonly tasks = new Map<string, FakeTask>();
  readonly calls: EcsCallLogEntry[] = [];
  readonly accountId: string;
  latencyMs: number;
  private readonly rng: () => number;
  private faults: EcsFault[] = [];

  constructor(opts: { latencyMs?: number; rng?: () => number; accountId?: string } = {}) {
    super();
    this.latencyMs = opts.latencyMs ?? 0;
    this.rng = opts.rng ?? Math.random;
    this.accountId = opts.accountId ?? '123456789012';
  }

  /** A running task (new-format ARN: `task/<cluster>/<id>`); another account's with `account`. */
  addTask(
    over: Partial<Omit<FakeTask, 'taskArn' | 'clusterArn'>> & { cluster?: string; account?: string; region?: string } = {},
  ): FakeTask {
    const region = over.region ?? 'ap-northeast-1';
    const account = over.account ?? this.accountId;
    const cluster = over.cluster ?? 'default';
    const id = randomChars(this.rng, HEX, 32);
    const task: FakeTask = {
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      launchType: 'FARGATE',
      tags: {},
      forgotten: false,
      ...over,
      region,
      taskArn: `arn:aws:ecs:${region}:${account}:task/${cluster}/${id}`,
      clusterArn: `arn:aws:ecs:${region}:${account}:cluster/${cluster}`,
    };
    this.tasks.set(task.taskArn, task);
    return task;
  }

  stopTask(arn: string, reason = 'Essential container in task exited'): void {
    const t = this.mustGet(arn);
    Object.assign(t, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedReason: reason });
  }

  /** ECS no longer knows the task (it forgets stopped tasks after about an hour). */
  forgetTask(arn: string): void {
    this.mustGet(arn).forgotten = true;
  }

  inject(fault: EcsFault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  callsOf(action: string): EcsCallLogEntry[] {
    return this.calls.filter((c) => c.action === action);
  }

  private mustGet(arn: string): FakeTask {
    const t = this.tasks.get(arn);
    if (!t) throw new Error(`no task ${arn}`);
    return t;
  }

  protected bugBody(message: string): string {
    return JSON.stringify({ __type: 'ServerException', message });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    const region = regionOf(req);
    const raw = await readBody(req);
    let params: Record<string, unknown> = {};
    let status = 200;
    let body: unknown;
    try {
      params = raw.trim() ? (JSON.parse(raw) as Record<string, unknown>) : {};
      const fault = this.faults.find((f) => f.times > 0 && (f.action === undefined || f.action === action));
      if (fault) {
        fault.times--;
        throw new EcsApiError(fault.status, fault.type, `injected ${fault.type}`);
      }
      body = this.route(action, region, params);
    } catch (err) {
      if (!(err instanceof EcsApiError)) throw err;
      status = err.status;
      body = { __type: err.type, message: err.message };
    }
    await sleep(this.latencyMs);
    this.calls.push({ action, region, params, status, at });
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomChars(this.rng, HEX, 32) });
    res.end(JSON.stringify(body));
  }

  private route(action: string, region: string, params: Record<string, unknown>): unknown {
    if (action === 'DescribeTasks') return this.describeTasks(region, params);
    if (action === 'ListTasks') return this.listTasks(region, params);
    throw new EcsApiError(400, 'InvalidAction', `unsupported action ${action}`);
  }

  /** A cluster given by name or ARN, in this region and account. */
  private clusterArn(region: string, ref: unknown): string {
    const name = typeof ref === 'string' && ref ? ref.slice(ref.lastIndexOf('/') + 1) : 'default';
    return `arn:aws:ecs:${region}:${this.accountId}:cluster/${name}`;
  }

  private describeTasks(region: string, params: Record<string, unknown>): unknown {
    const arns = params.tasks;
    if (!Array.isArray(arns) || arns.length === 0 || !arns.every((a) => typeof a === 'string')) {
      throw new EcsApiError(400, 'InvalidParameterException', 'Tasks cannot be empty.');
    }
    if (arns.length > DESCRIBE_TASKS_MAX) {
      throw new EcsApiError(400, 'InvalidParameterException', `Tasks cannot have more than ${DESCRIBE_TASKS_MAX} elements`);
    }
    const cluster = this.clusterArn(region, params.cluster);
    const withTags = Array.isArray(params.include) && params.include.includes('TAGS');
    const tasks: unknown[] = [];
    const failures: unknown[] = [];
    for (const arn of arns as string[]) {
      const t = this.tasks.get(arn);
      if (!t || t.forgotten || t.clusterArn !== cluster) {
        failures.push({ arn, reason: 'MISSING' });
        continue;
      }
      tasks.push({
        taskArn: t.taskArn,
        clusterArn: t.clusterArn,
        lastStatus: t.lastStatus,
        desiredStatus: t.desiredStatus,
        launchType: t.launchType,
        ...(t.stoppedReason ? { stoppedReason: t.stoppedReason } : {}),
        ...(withTags ? { tags: Object.entries(t.tags).map(([key, value]) => ({ key, value })) } : {}),
      });
    }
    return { tasks, failures };
  }

  private listTasks(region: string, params: Record<string, unknown>): unknown {
    const cluster = this.clusterArn(region, params.cluster);
    const desired = typeof params.desiredStatus === 'string' ? params.desiredStatus : 'RUNNING';
    const max = typeof params.maxResults === 'number' ? Math.min(params.maxResults, 100) : 100;
    const all = [...this.tasks.values()]
      .filter((t) => t.clusterArn === cluster && !t.forgotten && t.desiredStatus === desired)
      .map((t) => t.taskArn)
      .sort();
    const start = typeof params.nextToken === 'string' ? Number(params.nextToken) || 0 : 0;
    const page = all.slice(start, start + max);
    return { taskArns: page, ...(start + max < all.length ? { nextToken: String(start + max) } : {}) };
  }
}
