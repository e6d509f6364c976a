/**
 * Tracing: a run's steps are X-Ray subsegments named observe, plan, execute and annotate under the invocation's
 * segment (a real Powertools Tracer, switched on as in Lambda, over a sweep of the sandbox); outside Lambda the
 * Tracer is off and the same code is a pass-through.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import AWSXRay from 'aws-xray-sdk-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSweep } from '../../shared/reconcile/run.js';
import { runtimeFor } from '../../shared/runtime.js';
import { TRACE_STEPS, traceWith, tracer } from '../../shared/tracing.js';
import { createWorld, lambdaContext, type World } from '../support/world.js';

/** The fields of a subsegment the SDK's types leave out. */
type Closed = { name: string; start_time: number; end_time?: number; fault?: boolean; error?: boolean };

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

/** A Tracer as Lambda would make it (it reads AWS_EXECUTION_ENV once, when it is made). */
function lambdaTracer(): Tracer {
  const before = process.env.AWS_EXECUTION_ENV;
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
  try {
    return new Tracer({ serviceName: 'mackerel-reconciler-test' });
  } finally {
    if (before === undefined) delete process.env.AWS_EXECUTION_ENV;
    else process.env.AWS_EXECUTION_ENV = before;
  }
}

describe('tracing', () => {
  it('a sweep that acts shows observe, plan, execute and annotate as subsegments of the invocation', async () => {
    w.healthy(9);
    const { inst } = w.instanceWithHost({ state: 'terminated' });
    const t = lambdaTracer();
    expect(t.isTracingEnabled()).toBe(true);
    const root = new AWSXRay.Segment('sweep');

    const report = await AWSXRay.getNamespace().runPromise(async () => {
      t.setSegment(root);
      const rt = await runtimeFor(lambdaContext(w.sb.functionArn('sweep')), { trace: traceWith(t) });
      return runSweep(rt, { trigger: 'sweep' });
    });

    expect(report.actions).toMatchObject([{ kind: 'retire', instanceId: inst.instanceId, outcome: 'done' }]);
    // the steps, in order, between the calls the Tracer captures itself (the lease's DynamoDB requests)
    const subs = root.subsegments ?? [];
    const steps = subs.filter((s) => (TRACE_STEPS as readonly string[]).includes(s.name));
    expect(steps.map((s) => s.name)).toEqual([...TRACE_STEPS]);
    for (const s of steps as unknown as Closed[]) expect(s.end_time).toBeGreaterThanOrEqual(s.start_time);
    // what a step waited for is inside it: observe's HTTP calls (the host list, DescribeInstances) are its children
    const observe = steps[0];
    expect(observe?.subsegments?.length ?? 0).toBeGreaterThan(0);
    expect(steps[1]?.subsegments ?? []).toEqual([]); // the planner does no I/O
  });

  it('a failing step closes its subsegment with the error and rethrows it', async () => {
    const t = lambdaTracer();
    const root = new AWSXRay.Segment('replay');
    const boom = new Error('Mackerel is down');

    await AWSXRay.getNamespace().runPromise(async () => {
      t.setSegment(root);
      await expect(traceWith(t)('observe', () => Promise.reject(boom))).rejects.toBe(boom);
      expect(t.getSegment()).toBe(root);
    });

    const [observe] = (root.subsegments ?? []) as unknown as Closed[];
    expect(observe?.name).toBe('observe');
    expect(observe?.fault || observe?.error).toBe(true);
  });

  it('outside Lambda the Tracer is off and a step just runs (no X-Ray daemon, no context needed)', () => {
    expect(tracer().isTracingEnabled()).toBe(false);
    expect(traceWith(tracer())('plan', () => 42)).toBe(42);
  });
});
