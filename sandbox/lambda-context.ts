import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * A Lambda invocation context for a function ARN, as the runtime would pass it to a handler. With `timeoutMs` (the
 * function's configured timeout) the remaining time counts down from the invocation as Lambda's does; without it,
 * it always answers 60 s.
 */
export function lambdaContext(invokedFunctionArn: string, opts: { timeoutMs?: number } = {}): Context {
  const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
  const functionName = invokedFunctionArn.split(':').pop() ?? 'function';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'sandbox',
    getRemainingTimeInMillis: () => (deadline === undefined ? 60_000 : Math.max(0, deadline - Date.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
