/**
 * A sandbox with the real Lambda handlers wired to it, for the benchmarks: fake Mackerel, fake EC2 and the
 * PutEvents recorder answer after a fixed latency; DynamoDB (dynalite) is reached through the counting proxy
 * and is not slowed down. Handler logs are quieted by bench/quiet.ts, which main.ts imports first. The handlers run
 * in this process (`sweep`, `stateChange`) or in a child process of their own (`reconciler`), whose peak memory is
 * then the code under test's alone.
 */
import { handler as stateChangeHandler } from '../functions/instance-state-change/handler.js';
import { handler as sweepHandler } from '../functions/sweep/handler.js';
import {
  ec2StateChangeEvent,
  mulberry32,
  randomUuid,
  type Sandbox,
  scheduledEvent,
  startSandbox,
} from '../sandbox/index.js';
import { lambdaContext } from '../sandbox/lambda-context.js';
import type { Report } from '../shared/reconcile/run.js';
import { resetRuntime } from '../shared/runtime.js';
import { countSince, type CallCounts, mark } from './calls.js';
import { deployedTimeoutsMs, type Invocation, type ReconcilerProcess, startReconciler } from './child.js';
import { type DynamoCounter, startDynamoProxy } from './dynamo-proxy.js';

export interface Harness {
  sb: Sandbox;
  dynamo: DynamoCounter;
  sweep(): Promise<Report>;
  stateChange(instanceId: string, state: string): Promise<Report>;
  /** runs `fn` and returns its result with the calls it made and its wall time */
  measure<T>(fn: () => Promise<T>): Promise<{ result: T; calls: CallCounts; wallMs: number }>;
  /**
   * A fresh reconciler process (a cold Lambda container) pointed at this sandbox. Each invocation has its function's
   * deployed timeout; `timeoutMs`, when given, bounds the wait instead of that timeout and a grace.
   */
  reconciler(timeoutMs?: number): Promise<ReconcilerProcess>;
  /** a sweep in `proc`, with the calls it made */
  sweepIn(proc: ReconcilerProcess): Promise<{ inv: Invocation; calls: CallCounts }>;
  /** a state-change event in `proc`, with the calls it made */
  stateChangeIn(proc: ReconcilerProcess, instanceId: string, state: string): Promise<{ inv: Invocation; calls: CallCounts }>;
  stop(): Promise<void>;
}

/** What a reconciler process is told beside the sandbox's endpoints: quiet logs, no metrics, no SDK notice. */
const CHILD_QUIET = {
  LOG_LEVEL: 'ERROR',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export async function startHarness(opts: {
  latencyMs: number;
  seed: number;
  /** extra environment for the handlers, e.g. the circuit breaker's limits */
  env?: Record<string, string>;
}): Promise<Harness> {
  const sb = await startSandbox({ latencyMs: opts.latencyMs, seed: opts.seed });
  const dynamo = await startDynamoProxy(sb.dynamo.endpoint);
  const saved = new Map<string, string | undefined>();
  const env = { ...sb.env, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url, ...opts.env };
  for (const [k, v] of Object.entries(env)) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  resetRuntime();
  // Event and request ids from the seed too, so that a run can be replayed exactly.
  const rng = mulberry32(opts.seed ^ 0x3c6ef372);
  const timeouts = deployedTimeoutsMs();
  const childEnv = { ...env, ...CHILD_QUIET };
  const inChild = async (proc: ReconcilerProcess, handler: 'sweep' | 'instance-state-change', event: unknown) => {
    const from = mark(sb, dynamo);
    const inv = await proc.invoke(handler, event, sb.functionArn(handler));
    return { inv, calls: countSince(sb, dynamo, from) };
  };
  return {
    sb,
    dynamo,
    sweep: () =>
      sweepHandler(
        scheduledEvent({ accountId: sb.accountId, id: randomUuid(rng) }),
        lambdaContext(sb.functionArn('sweep'), { timeoutMs: timeouts.sweep }),
      ) as Promise<Report>,
    stateChange: (instanceId, state) =>
      stateChangeHandler(
        ec2StateChangeEvent({ accountId: sb.accountId, instanceId, state, id: randomUuid(rng) }),
        lambdaContext(sb.functionArn('instance-state-change'), { timeoutMs: timeouts['instance-state-change'] }),
      ) as Promise<Report>,
    reconciler: (timeoutMs) => startReconciler({ env: childEnv, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
    sweepIn: (proc) => inChild(proc, 'sweep', scheduledEvent({ accountId: sb.accountId, id: randomUuid(rng) })),
    stateChangeIn: (proc, instanceId, state) =>
      inChild(
        proc,
        'instance-state-change',
        ec2StateChangeEvent({ accountId: sb.accountId, instanceId, state, id: randomUuid(rng) }),
      ),
    async measure(fn) {
      const from = mark(sb, dynamo);
      const t0 = performance.now();
      const result = await fn();
      const wallMs = performance.now() - t0;
      return { result, calls: countSince(sb, dynamo, from), wallMs };
    },
    async stop() {
      resetRuntime();
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await dynamo.stop();
      await sb.stop();
    },
  };
}
