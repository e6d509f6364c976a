import { describe, expect, it } from 'vitest';
import { median, mode, percentile } from '../../bench/stats.js';

describe('order statistics', () => {
  it.each([
    [[1, 2, 3, 4], 50, 2],
    [[5, 1, 4, 2, 3], 50, 3],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 200 }, (_, i) => i + 1), 99, 198],
    [[7], 99, 7],
  ])('percentile(%j, %d) = %d (nearest rank: a measured value)', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('median of an even sample is the lower middle value, not an average', () => {
    expect(median([10, 20])).toBe(10);
  });

  it('refuses an empty sample and a p outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(/empty/);
    expect(() => percentile([1], 0)).toThrow(/p must be/);
  });

  it('mode picks the most frequent value', () => {
    expect(mode([5, 6, 6, 5, 6])).toBe(6);
  });
});
