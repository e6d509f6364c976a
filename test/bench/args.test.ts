import { describe, expect, it } from 'vitest';
import { parseArgs, SECTIONS } from '../../bench/args.js';

describe('npm run bench arguments', () => {
  it('runs every section by default, with 20 ms latency', () => {
    expect(parseArgs([])).toMatchObject({ sections: [...SECTIONS], quick: false, write: false, latencyMs: 20 });
  });

  it('--only keeps the canonical order, so naive always follows the sweep it compares with', () => {
    expect(parseArgs(['--only', 'naive,sweep']).sections).toEqual(['sweep', 'naive']);
    expect(parseArgs(['--only=cold']).sections).toEqual(['cold']);
  });

  it.each([
    [['--only', 'sweep,speed'], /--only: unknown section speed/],
    [['--only'], /--only needs a value/],
    [['--seed', 'abc'], /--seed must be an integer/],
    [['--latency', '-5'], /--latency must be an integer from 0/],
    [['--fast'], /unknown option --fast/],
  ])('%j is refused naming the flag', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('reads --quick, --write, --seed and --latency', () => {
    expect(parseArgs(['--quick', '--write', '--seed', '7', '--latency=0'])).toMatchObject({
      quick: true,
      write: true,
      seed: 7,
      latencyMs: 0,
    });
  });
});
