/**
 * Published DescribeInstances XML bodies, served verbatim by the sandbox EC2 (`serveRecorded`) and read by the
 * real @aws-sdk/client-ec2 and shared/ec2/inventory.ts, as the handlers read them.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEc2 } from '../../sandbox/ec2-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import { Ec2Inventory } from '../../shared/ec2/inventory.js';
import { manifest, realText } from '../support/real-fixtures.js';

const SEED = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`real-fixtures inventory seed=${SEED}`);
const REGION = 'ap-northeast-1';

let ec2: FakeEc2;
let inventory: Ec2Inventory;
beforeAll(async () => {
  ec2 = new FakeEc2({ rng: mulberry32(SEED) });
  await ec2.start();
  inventory = new Ec2Inventory({
    maxAttempts: 1,
    clientFor: (region) =>
      new EC2Client({
        region,
        endpoint: ec2.url,
        credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
        maxAttempts: 1,
      }),
  });
});
afterAll(() => ec2.stop());

describe.each(manifest.ec2.map((e) => [e.file, e] as const))('%s', (file, e) => {
  const expected = e.instances.map((i) => ({
    ...i,
    region: REGION,
    launchTime: Date.parse(i.launchTime),
  }));

  it('a sweep listing reads it: every instance, with the fields the planner uses', async () => {
    ec2.serveRecorded(REGION, realText(file));
    const before = ec2.calls.length;
    const res = await inventory.listRegion(REGION);
    ec2.serveRecorded(REGION, null);

    expect(res).toEqual({ region: REGION, ok: true, instances: expected });
    expect(ec2.calls.slice(before).map((c) => [c.action, c.status])).toEqual([['DescribeInstances', 200]]);
  });

  it('a targeted look-up (an event, a replay) finds the same instances', async () => {
    ec2.serveRecorded(REGION, realText(file));
    const res = await inventory.describe(
      REGION,
      expected.map((i) => i.instanceId),
    );
    ec2.serveRecorded(REGION, null);

    expect(res).toEqual({ found: expected, notFound: [] });
  });
});
