/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"),
 * bounded twice: by a number of attempts and by a total time budget, so that a sick dependency
 * can never hold a Lambda invocation until its own timeout.
 */

export interface RetryInfo {
  /** the attempt that just failed, counted from 1 */
  attempt: number;
  /** how long we wait before the next attempt */
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  /** attempts in all, the first included (≥ 1) */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** time spent in attempts plus time spent waiting, over all attempts of one call */
  budgetMs: number;
  isRetryable(err: unknown): boolean;
  /** a delay the server asked for (Retry-After); used instead of the jittered delay, capped by maxDelayMs */
  retryAfterMs?(err: unknown): number | undefined;
  /**
   * Asked last, before each wait: false gives up now. For a bound the budget cannot express, e.g. a deadline
   * that a whole further attempt must fit before.
   */
  canRetry?(next: { attempt: number; delayMs: number; lastAttemptMs: number }): boolean;
  onRetry?(info: RetryInfo): void;
  sleep?: (ms: number) => Promise<void>;
  /** uniform in [0, 1) */
  random?: () => number;
  /** monotonic clock in ms, to measure how long attempts take */
  now?: () => number;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter delay before attempt `attempt + 1`: uniform in [0, min(max, base·2^(attempt-1))). */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn` until it resolves, a non-retryable error is thrown, the attempts run out, or the next wait
 * would overrun the budget. Whatever ends the loop, the caller sees the last error as thrown by `fn`.
 *
 * The budget counts the time measured around each attempt plus the delays asked of `sleep`, so an
 * injected instant sleep still spends budget the way a real one would.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? (() => performance.now());
  const maxAttempts = Math.max(1, Math.floor(opts.maxAttempts));
  let spentMs = 0;

  for (let attempt = 1; ; attempt++) {
    const started = now();
    try {
      return await fn(attempt);
    } catch (err) {
      const lastAttemptMs = Math.max(0, now() - started);
      spentMs += lastAttemptMs;
      if (attempt >= maxAttempts || !opts.isRetryable(err)) throw err;

      const asked = opts.retryAfterMs?.(err);
      const delayMs =
        asked !== undefined && Number.isFinite(asked) && asked >= 0
          ? Math.min(Math.ceil(asked), opts.maxDelayMs)
          : backoffDelay(attempt, opts.baseDelayMs, opts.maxDelayMs, random);
      // Waiting only to be out of budget before the next answer arrives helps nobody: give up now.
      if (spentMs + delayMs >= opts.budgetMs) throw err;
      if (opts.canRetry && !opts.canRetry({ attempt, delayMs, lastAttemptMs })) throw err;

      opts.onRetry?.({ attempt, delayMs, error: err });
      await sleep(delayMs);
      spentMs += delayMs;
    }
  }
}
