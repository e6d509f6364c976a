import { describe, expect, it } from 'vitest';
import { backoffDelay, type RetryInfo, type RetryOptions, withRetry } from '../shared/retry.js';

class Transient extends Error {
  constructor(readonly retryAfter?: number) {
    super('transient');
  }
}
class Permanent extends Error {}

/** A script of outcomes: an Error is thrown, anything else is returned. */
function scripted<T>(outcomes: (T | Error)[]) {
  const attempts: number[] = [];
  const fn = async (attempt: number): Promise<T> => {
    attempts.push(attempt);
    const next = outcomes.shift();
    if (next instanceof Error) throw next;
    if (next === undefined) throw new Error('script ran out');
    return next;
  };
  return { fn, attempts };
}

function options(over: Partial<RetryOptions> = {}) {
  const slept: number[] = [];
  const retries: RetryInfo[] = [];
  const opts: RetryOptions = {
    maxAttempts: 5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    budgetMs: 60_000,
    isRetryable: (e) => e instanceof Transient,
    retryAfterMs: (e) => (e instanceof Transient ? e.retryAfter : undefined),
    onRetry: (info) => retries.push(info),
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: () => 0.5,
    now: () => 0,
    ...over,
  };
  return { opts, slept, retries };
}

describe('withRetry', () => {
  it('returns the first success without waiting', async () => {
    const { fn, attempts } = scripted(['ok']);
    const { opts, slept } = options();
    expect(await withRetry(fn, opts)).toBe('ok');
    expect(attempts).toEqual([1]);
    expect(slept).toEqual([]);
  });

  it('retries retryable errors with exponential full-jitter delays', async () => {
    const { fn, attempts } = scripted([new Transient(), new Transient(), new Transient(), 'ok']);
    const { opts, slept, retries } = options();
    expect(await withRetry(fn, opts)).toBe('ok');
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(slept).toEqual([50, 100, 200]); // 0.5 × 100·2^(n-1)
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 50],
      [2, 100],
      [3, 200],
    ]);
    expect(retries[0]?.error).toBeInstanceOf(Transient);
  });

  it('caps the delay at maxDelayMs', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, 100, 1000, () => 0.999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0);
  });

  it('does not retry what is not retryable', async () => {
    const boom = new Permanent('no');
    const { fn, attempts } = scripted([boom, 'ok']);
    const { opts, slept } = options();
    await expect(withRetry(fn, opts)).rejects.toBe(boom);
    expect(attempts).toEqual([1]);
    expect(slept).toEqual([]);
  });

  it('stops after maxAttempts with the last error', async () => {
    const last = new Transient();
    const { fn, attempts } = scripted([new Transient(), new Transient(), last, 'never']);
    const { opts } = options({ maxAttempts: 3 });
    await expect(withRetry(fn, opts)).rejects.toBe(last);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('stops when the next wait would overrun the budget', async () => {
    const { fn, attempts } = scripted([new Transient(), new Transient(), new Transient(), 'ok']);
    // delays 50, 100, 200: 50 + 100 = 150 fits in 200, 150 + 200 does not
    const { opts, slept } = options({ budgetMs: 200 });
    await expect(withRetry(fn, opts)).rejects.toBeInstanceOf(Transient);
    expect(attempts).toEqual([1, 2, 3]);
    expect(slept).toEqual([50, 100]);
  });

  it('counts the time attempts take against the budget', async () => {
    let clock = 0;
    const { opts, slept } = options({ budgetMs: 1000, now: () => clock });
    const attempts: number[] = [];
    const fn = async (attempt: number) => {
      attempts.push(attempt);
      clock += 400; // each attempt takes 400 ms before failing
      throw new Transient();
    };
    await expect(withRetry(fn, opts)).rejects.toBeInstanceOf(Transient);
    // 400 + 50 + 400 = 850; + 100 would be 950 < 1000, so a third attempt runs; 1350 + 200 is over
    expect(attempts).toEqual([1, 2, 3]);
    expect(slept).toEqual([50, 100]);
  });

  it('asks canRetry last, with the wait and how long the failed attempt took; false gives up at once', async () => {
    let clock = 0;
    const asked: { attempt: number; delayMs: number; lastAttemptMs: number }[] = [];
    const { opts, slept } = options({
      now: () => clock,
      canRetry: (next) => {
        asked.push(next);
        return next.attempt < 2;
      },
    });
    const attempts: number[] = [];
    const fn = async (attempt: number) => {
      attempts.push(attempt);
      clock += 300 * attempt;
      throw new Transient();
    };
    await expect(withRetry(fn, opts)).rejects.toBeInstanceOf(Transient);
    expect(attempts).toEqual([1, 2]);
    expect(asked).toEqual([
      { attempt: 1, delayMs: 50, lastAttemptMs: 300 },
      { attempt: 2, delayMs: 100, lastAttemptMs: 600 },
    ]);
    expect(slept).toEqual([50]);
  });

  it('waits what the server asks, capped at maxDelayMs', async () => {
    const { fn } = scripted([new Transient(300), new Transient(5000), new Transient(0), 'ok']);
    const { opts, slept } = options();
    expect(await withRetry(fn, opts)).toBe('ok');
    expect(slept).toEqual([300, 1000, 0]);
  });

  it('uses the real clock and timers by default', async () => {
    const { fn, attempts } = scripted([new Transient(), 'ok']);
    const result = await withRetry(fn, {
      maxAttempts: 2,
      baseDelayMs: 20,
      maxDelayMs: 20,
      budgetMs: 1000,
      isRetryable: () => true,
      random: () => 0.99,
    });
    expect(result).toBe('ok');
    expect(attempts).toEqual([1, 2]);
  });
});
