/**
 * Held retirements on the command line: `plan --detailed-exitcode` says changes are pending when the circuit
 * breaker holds back every retirement, and `apply --max-retire … --max-retire-percent …` lets them through for
 * one run, confirmed like any apply.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, show } from '../support/cli.js';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

const cli = (args: string[]) => runCli(args, { env: w.sb.env });

/** 10 healthy instances and 5 terminated ones: 5 of 15 retirements is over the 20% limit. */
function scaleIn() {
  w.healthy(10);
  return Array.from({ length: 5 }, () => {
    const t = w.instanceWithHost();
    w.sb.ec2.setState(t.inst.instanceId, 'terminated');
    return t;
  });
}

describe('held retirements', () => {
  it('plan --detailed-exitcode: 3 (pending) when only held retirements exist; apply alone retires nothing', async () => {
    const gone = scaleIn();

    const plan = await cli(['plan', '--detailed-exitcode']);
    expect(plan.code, show(plan)).toBe(3);
    expect(plan.stdout).toContain('Held back by the circuit breaker: 5 retirements');
    expect(plan.stdout).toContain('apply --max-retire 5 --max-retire-percent 100');

    const apply = await cli(['apply', '--yes']);
    expect(apply.code, show(apply)).toBe(0);
    expect(apply.stdout).toContain('Nothing to apply.');
    expect(gone.every((g) => w.sb.mackerel.hosts.get(g.hostId)?.isRetired === false)).toBe(true);
  });

  it('apply --max-retire 5 --max-retire-percent 100 retires them, for that run only', async () => {
    const gone = scaleIn();

    const r = await cli(['apply', '--yes', '--max-retire', '5', '--max-retire-percent', '100']);

    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied: 5 done');
    expect(r.stdout).toContain('Circuit breaker: ok (5 retirements of 15 owned hosts; limits 5 a run or 100%)');
    expect(gone.every((g) => w.sb.mackerel.hosts.get(g.hostId)?.isRetired === true)).toBe(true);
  });
});
