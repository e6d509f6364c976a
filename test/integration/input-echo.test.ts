/** Bad input is named, never echoed whole: a megabyte-long unknown replay key stays out of messages and logs. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '../../shared/events/schemas.js';
import { logger } from '../../shared/logger.js';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await w.stop();
});

describe('echoed input is clipped', () => {
  it('a 1 MB unknown replay key: InputError names it clipped, the error log line stays short', async () => {
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const key = 'k'.repeat(1_000_000);

    const err = await w.onReplay({ [key]: 1, instanceIds: ['i-0123456789abcdef0'] }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).toMatch(/^invalid replay payload: unknown field\(s\) "k{60}… \(999,940 more characters\)"$/);
    expect(JSON.stringify(logged.mock.calls).length).toBeLessThan(5_000);
  });

  it('a thousand unknown keys: the first ten, and how many more', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const payload = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x${i}`, i]));
    const err = (await w.onReplay({ ...payload, sweep: {} }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('"x9" and 990 more');
    expect(err.message.length).toBeLessThan(500);
  });
});
