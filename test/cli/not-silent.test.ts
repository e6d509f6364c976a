/**
 * Nothing silent on the command line: an --instance EC2 does not know is printed per id, an empty region is a
 * warning, and a region that could not be read is never headlined "No changes" (exit 1; 4 with
 * --detailed-exitcode).
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

describe('the command line says what a run could not see', () => {
  it('--instance with an id EC2 does not know: printed per id', async () => {
    const known = w.instanceWithHost();
    const typo = 'i-0123456789abcdef0';

    const r = await cli(['plan', '--instance', `${typo},${known.inst.instanceId}`]);

    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`Warning: ${typo} is not known to EC2 in ap-northeast-1: nothing done`);
  });

  it('an empty region is a warning', async () => {
    w.healthy(2);
    const r = await cli(['plan', '--regions', 'ap-northeast-1,eu-west-1']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('Warning: EC2 shows no instances in eu-west-1 and the state table knows none there');
  });

  it('EC2 failing in the only region: "Incomplete", never "No changes"; exit 1, or 4 with --detailed-exitcode', async () => {
    w.healthy(2);
    w.sb.ec2.failRegion('ap-northeast-1', { status: 403, code: 'UnauthorizedOperation', message: 'You are not authorized' });

    const r = await cli(['plan']);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain('Incomplete: EC2 could not be read in ap-northeast-1');
    expect(r.stdout).not.toContain('No changes');

    const d = await cli(['plan', '--detailed-exitcode']);
    expect(d.code, show(d)).toBe(4);

    const a = await cli(['apply', '--yes']);
    expect(a.code, show(a)).toBe(1);
    expect(a.stdout).toContain('the run was incomplete');
    expect(a.stdout).not.toContain('No changes');
  });
});
