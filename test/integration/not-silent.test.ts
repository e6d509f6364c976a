/**
 * Nothing silent: a given instance id EC2 does not know is reported per id, and a configured region where
 * EC2 shows no instance and the state table knows none is a warning, through the real handlers. A healthy
 * fleet's report carries no warning.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

describe('nothing silent', () => {
  it('replay: an instance id EC2 does not know is named, with the regions asked; the known one is reconciled', async () => {
    const gone = w.instanceWithHost();
    w.sb.ec2.setState(gone.inst.instanceId, 'terminated');
    const typo = 'i-0123456789abcdef0';

    const report = await w.onReplay({ instanceIds: [gone.inst.instanceId, typo] });

    expect(report.status).toBe('ok');
    expect(report.notFoundInstances).toEqual([{ instanceId: typo, regions: ['ap-northeast-1'] }]);
    expect(report.warnings).toEqual([`${typo} is not known to EC2 in ap-northeast-1: nothing done`]);
    expect(report.unknownInstanceIds).toEqual([typo]);
    expect(w.sb.mackerel.hosts.get(gone.hostId)?.isRetired).toBe(true);
  });

  it('sweep: an empty configured region the state table knows nothing of is a warning; a populated one is not', async () => {
    w.healthy(3);
    w.setEnv({ REGIONS: 'ap-northeast-1,eu-west-1' });

    const report = await w.onSweep();

    expect(report.status).toBe('ok');
    expect(report.warnings).toEqual([
      'EC2 shows no instances in eu-west-1 and the state table knows none there: check REGIONS and that the ' +
        'credentials reach this account and region',
    ]);
    expect(report.actions).toEqual([]);
  });

  it('a healthy fleet: no warnings at all', async () => {
    w.healthy(3);
    const report = await w.onSweep();
    expect(report.warnings).toBeUndefined();
    expect(report.notFoundInstances).toBeUndefined();
  });
});
