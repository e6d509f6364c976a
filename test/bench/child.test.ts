/** The reconciler process's invocation context: the deployed timeout, counting down as Lambda's does. */
import { describe, expect, it } from 'vitest';
import { deployedTimeoutsMs } from '../../bench/child.js';
import { lambdaContext } from '../../sandbox/lambda-context.js';

describe('the context a benchmarked handler gets', () => {
  it('has each function\'s timeout from serverless.yml, the sweep\'s longer than an event\'s', () => {
    const t = deployedTimeoutsMs();
    expect(t['instance-state-change']).toBeGreaterThan(0);
    expect(t.sweep).toBeGreaterThan(t['instance-state-change']);
  });

  it('counts the remaining time down from the timeout; without one it answers 60 s, as before', async () => {
    const ctx = lambdaContext('arn:aws:lambda:ap-northeast-1:123456789012:function:f', { timeoutMs: 900_000 });
    const first = ctx.getRemainingTimeInMillis();
    expect(first).toBeLessThanOrEqual(900_000);
    expect(first).toBeGreaterThan(890_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(ctx.getRemainingTimeInMillis()).toBeLessThan(first);
    expect(lambdaContext('arn:aws:lambda:ap-northeast-1:123456789012:function:f').getRemainingTimeInMillis()).toBe(60_000);
  });
});
