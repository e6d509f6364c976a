/**
 * X-Ray tracing (Powertools Tracer) for the Lambda handlers: the handler's segment (`captureLambdaHandler` in
 * `handler.ts`), the AWS SDK clients and Mackerel's fetch calls as subsegments, and the run's steps (observe, plan,
 * execute, annotate) as named subsegments through the domain's `Trace` port, so a slow run shows where the time
 * went. Outside Lambda (tests, the command line, `npm start`) the Tracer switches itself off: no X-Ray daemon is
 * needed and every call below is a plain pass-through. `POWERTOOLS_TRACE_ENABLED=false` switches it off in Lambda.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Trace } from './reconcile/ports.js';

let instance: Tracer | undefined;

/** One Tracer per container, created at first use so that it reads the environment of the invocation. */
export function tracer(): Tracer {
  instance ??= new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'mackerel-reconciler' });
  return instance;
}

/** Subsegment (and trace step) names the run produces, in order. */
export const TRACE_STEPS = ['observe', 'plan', 'execute', 'annotate'] as const;

/** The domain's `Trace` over a Tracer: `fn` runs inside a subsegment `name` of the current segment. */
export function traceWith(t: Tracer): Trace {
  return <T>(name: string, fn: () => T): T => {
    const parent = t.isTracingEnabled() ? t.getSegment() : undefined;
    if (parent === undefined) return fn();
    const sub = parent.addNewSubsegment(name);
    t.setSegment(sub);
    const close = (error?: unknown) => {
      if (error !== undefined) sub.addError(error instanceof Error ? error : new Error(String(error)));
      sub.close();
      t.setSegment(parent);
    };
    let out: T;
    try {
      out = fn();
    } catch (e) {
      close(e);
      throw e;
    }
    if (!(out instanceof Promise)) {
      close();
      return out;
    }
    return out.then(
      (v: unknown) => {
        close();
        return v;
      },
      (e: unknown) => {
        close(e);
        throw e;
      },
    ) as T;
  };
}

/** An AWS SDK v3 client whose calls show as subsegments (unchanged when tracing is off). */
export function traced<C extends object>(client: C): C {
  const t = tracer();
  return t.isTracingEnabled() ? t.captureAWSv3Client(client) : client;
}
