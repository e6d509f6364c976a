import { describe, expect, it } from 'vitest';
import { packageOf } from '../../bench/sections/cold.js';

describe('what weighs in a bundle', () => {
  it.each([
    ['node_modules/@aws-sdk/client-ec2/dist-es/commands/X.js', '@aws-sdk/client-ec2'],
    ['node_modules/zod/v4/classic/schemas.js', 'zod'],
    ['node_modules/@smithy/core/node_modules/@smithy/util/dist/a.js', '@smithy/util'],
    ['shared/reconcile/plan.ts', '(this project)'],
  ])('%s belongs to %s', (input, name) => {
    expect(packageOf(input)).toBe(name);
  });
});
