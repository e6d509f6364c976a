import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  EC2Client,
  type Instance,
  ModifyInstanceMetadataOptionsCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeEc2 } from '../../sandbox/ec2-server.js';
import { mulberry32 } from '../../sandbox/random.js';

const SEED = 4242;
console.log(`ec2-server.test seed=${SEED}`);

let ec2: FakeEc2;
const clients: EC2Client[] = [];

function client(region = 'ap-northeast-1', maxAttempts?: number): EC2Client {
  const c = new EC2Client({
    region,
    endpoint: ec2.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
  clients.push(c);
  return c;
}

async function describeAll(c: EC2Client, input: DescribeInstancesCommandInput = {}): Promise<Instance[]> {
  const out = await c.send(new DescribeInstancesCommand(input));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

beforeEach(async () => {
  ec2 = new FakeEc2({ rng: mulberry32(SEED) });
  await ec2.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await ec2.stop();
});

describe('FakeEc2 through the real EC2Client', () => {
  it('returns every field the inventory reads, parsed by the SDK', async () => {
    const launchTime = new Date('2026-11-01T03:04:05.000Z');
    const i = ec2.addInstance({ tags: { Name: 'web-1', 'mackerel-reconciler:ignore': 'true' }, launchTime });
    expect(i.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(i.privateDnsName).toBe(
      `ip-${i.privateIpAddress.replace(/\./g, '-')}.ap-northeast-1.compute.internal`,
    );

    const out = await client().send(new DescribeInstancesCommand({}));
    expect(out.Reservations).toHaveLength(1);
    expect(out.Reservations?.[0]?.OwnerId).toBe('123456789012');
    expect(out.Reservations?.[0]?.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    const got = out.Reservations?.[0]?.Instances?.[0];
    expect(got).toMatchObject({
      InstanceId: i.instanceId,
      State: { Code: 16, Name: 'running' },
      PrivateDnsName: i.privateDnsName,
      PrivateIpAddress: i.privateIpAddress,
      Placement: { AvailabilityZone: 'ap-northeast-1a' },
      MetadataOptions: {
        State: 'applied',
        HttpEndpoint: 'enabled',
        HttpTokens: 'optional',
        HttpPutResponseHopLimit: 1,
        InstanceMetadataTags: 'disabled',
      },
    });
    expect(got?.LaunchTime).toBeInstanceOf(Date);
    expect(got?.LaunchTime?.getTime()).toBe(launchTime.getTime());
    expect(got?.Tags).toEqual([
      { Key: 'Name', Value: 'web-1' },
      { Key: 'mackerel-reconciler:ignore', Value: 'true' },
    ]);
    expect(out.$metadata.requestId).toEqual(expect.any(String));
    expect(ec2.calls).toMatchObject([{ action: 'DescribeInstances', region: 'ap-northeast-1', status: 200 }]);
  });

  it('reports every state code, and drops the private address of a terminated instance', async () => {
    const codes = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };
    for (const state of Object.keys(codes) as (keyof typeof codes)[]) ec2.addInstance({ state });
    const got = await describeAll(client());
    expect(Object.fromEntries(got.map((i) => [i.State?.Name, i.State?.Code]))).toEqual(codes);
    const terminated = got.find((i) => i.State?.Name === 'terminated');
    expect(terminated?.PrivateIpAddress).toBeUndefined();
    expect(terminated?.PrivateDnsName).toBe('');
    expect(terminated?.Tags).toBeUndefined(); // no tags: EC2 omits tagSet
  });

  it('pages 12 instances over 3 pages with MaxResults 5 through paginateDescribeInstances', async () => {
    const ids = Array.from({ length: 12 }, () => ec2.addInstance({}).instanceId);
    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateDescribeInstances({ client: client() }, { MaxResults: 5 })) {
      const instances = (page.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      pages.push(instances.length);
      seen.push(...instances.map((i) => i.InstanceId as string));
    }
    expect(pages).toEqual([5, 5, 2]);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(ec2.calls.map((c) => c.params.NextToken !== undefined)).toEqual([false, true, true]);
  });

  it('rejects a bad MaxResults, MaxResults with InstanceIds, and a forged NextToken', async () => {
    const i = ec2.addInstance({});
    const c = client();
    expect((await errorOf(c.send(new DescribeInstancesCommand({ MaxResults: 4 })))).name).toBe(
      'InvalidParameterValue',
    );
    expect(
      (await errorOf(c.send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: [i.instanceId] }))))
        .name,
    ).toBe('InvalidParameterCombination');
    expect(
      (await errorOf(c.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: 'garbage' })))).name,
    ).toBe('InvalidPaginationToken');
  });

  it('fails InvalidInstanceID.NotFound naming the missing id, or ids', async () => {
    const i = ec2.addInstance({});
    const c = client();
    const one = await errorOf(
      c.send(new DescribeInstancesCommand({ InstanceIds: [i.instanceId, 'i-0123456789abcdef0'] })),
    );
    expect(one.name).toBe('InvalidInstanceID.NotFound');
    expect(one.message).toBe("The instance ID 'i-0123456789abcdef0' does not exist");
    expect(one.$metadata?.httpStatusCode).toBe(400);

    const two = await errorOf(
      c.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0', 'i-0123456789abcdef1'] })),
    );
    expect(two.message).toBe("The instance IDs 'i-0123456789abcdef0, i-0123456789abcdef1' do not exist");

    expect((await errorOf(c.send(new DescribeInstancesCommand({ InstanceIds: ['web-1'] })))).name).toBe(
      'InvalidInstanceID.Malformed',
    );
  });

  it('treats a forgotten instance as nonexistent', async () => {
    const i = ec2.addInstance({ state: 'terminated' });
    ec2.forget(i.instanceId);
    expect(await describeAll(client())).toEqual([]);
    expect(
      (await errorOf(client().send(new DescribeInstancesCommand({ InstanceIds: [i.instanceId] })))).name,
    ).toBe('InvalidInstanceID.NotFound');
  });

  it('filters by state, id, tag, private ip and private dns name (with wildcards)', async () => {
    const web = ec2.addInstance({ tags: { Role: 'web', Env: 'prod' }, privateIpAddress: '10.0.1.23' });
    const db = ec2.addInstance({ tags: { Role: 'db', Env: 'prod' }, state: 'stopped' });
    const dev = ec2.addInstance({ tags: { Role: 'web', Env: 'dev' } });
    const c = client();
    const ids = async (Filters: { Name: string; Values: string[] }[], InstanceIds?: string[]) =>
      (await describeAll(c, { Filters, InstanceIds })).map((i) => i.InstanceId).sort();

    expect(await ids([{ Name: 'instance-state-name', Values: ['stopped', 'stopping'] }])).toEqual([
      db.instanceId,
    ]);
    expect(await ids([{ Name: 'instance-id', Values: [web.instanceId, dev.instanceId] }])).toEqual(
      [web.instanceId, dev.instanceId].sort(),
    );
    expect(
      await ids([
        { Name: 'tag:Role', Values: ['web'] },
        { Name: 'tag:Env', Values: ['prod'] },
      ]),
    ).toEqual([web.instanceId]);
    expect(await ids([{ Name: 'tag:Env', Values: ['p*'] }])).toEqual([web.instanceId, db.instanceId].sort());
    expect(await ids([{ Name: 'private-ip-address', Values: ['10.0.1.23'] }])).toEqual([web.instanceId]);
    expect(await ids([{ Name: 'private-dns-name', Values: [dev.privateDnsName] }])).toEqual([dev.instanceId]);
    expect(await ids([{ Name: 'tag:Role', Values: ['web'] }], [dev.instanceId, db.instanceId])).toEqual([
      dev.instanceId,
    ]);
    expect((await errorOf(describeAll(c, { Filters: [{ Name: 'vpc-id', Values: ['x'] }] }))).name).toBe(
      'InvalidParameterValue',
    );
  });

  it('ModifyInstanceMetadataOptions enables IMDS, and DescribeInstances shows it', async () => {
    const i = ec2.addInstance({ httpEndpoint: 'disabled' });
    const c = client();
    const out = await c.send(
      new ModifyInstanceMetadataOptionsCommand({ InstanceId: i.instanceId, HttpEndpoint: 'enabled' }),
    );
    expect(out.InstanceId).toBe(i.instanceId);
    expect(out.InstanceMetadataOptions).toMatchObject({ State: 'pending', HttpEndpoint: 'enabled' });
    const [got] = await describeAll(c, { InstanceIds: [i.instanceId] });
    expect(got?.MetadataOptions).toMatchObject({ State: 'applied', HttpEndpoint: 'enabled' });
    expect(ec2.calls.at(0)).toMatchObject({
      action: 'ModifyInstanceMetadataOptions',
      params: { InstanceId: i.instanceId, HttpEndpoint: 'enabled' },
    });

    const missing = await errorOf(
      c.send(
        new ModifyInstanceMetadataOptionsCommand({
          InstanceId: 'i-0123456789abcdef0',
          HttpEndpoint: 'enabled',
        }),
      ),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    expect(missing.message).toContain('i-0123456789abcdef0');
  });

  it('keeps regions apart: each region sees only its instances', async () => {
    const tokyo = ec2.addInstance({});
    const oregon = ec2.addInstance({ region: 'us-west-2' });
    const virginia = ec2.addInstance({ region: 'us-east-1' });
    expect(virginia.privateDnsName).toMatch(/\.ec2\.internal$/);
    expect((await describeAll(client('ap-northeast-1'))).map((i) => i.InstanceId)).toEqual([
      tokyo.instanceId,
    ]);
    expect((await describeAll(client('us-west-2'))).map((i) => i.InstanceId)).toEqual([oregon.instanceId]);
    expect((await errorOf(describeAll(client('us-west-2'), { InstanceIds: [tokyo.instanceId] }))).name).toBe(
      'InvalidInstanceID.NotFound',
    );
    expect(ec2.calls.map((c) => c.region)).toEqual(['ap-northeast-1', 'us-west-2', 'us-west-2']);
  });

  it('fails DescribeInstances in one region until cleared', async () => {
    ec2.addInstance({});
    ec2.addInstance({ region: 'us-west-2' });
    ec2.failRegion('us-west-2', {
      status: 403,
      code: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
    });
    const err = await errorOf(describeAll(client('us-west-2', 1)));
    expect(err.name).toBe('UnauthorizedOperation');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(await describeAll(client('ap-northeast-1'))).toHaveLength(1);
    ec2.failRegion('us-west-2', null);
    expect(await describeAll(client('us-west-2'))).toHaveLength(1);
  });

  it('throttles with RequestLimitExceeded (503), which the SDK retries', async () => {
    ec2.addInstance({});
    ec2.throttle({ times: 1 });
    const out = await client().send(new DescribeInstancesCommand({}));
    expect(out.$metadata.attempts).toBe(2);
    expect(ec2.calls.map((c) => c.status)).toEqual([503, 200]);

    ec2.throttle({ probability: 1 });
    const err = await errorOf(client('ap-northeast-1', 1).send(new DescribeInstancesCommand({})));
    expect(err.name).toBe('RequestLimitExceeded');
    ec2.throttle(null);
    expect(await describeAll(client())).toHaveLength(1);
  });

  it('answers InvalidAction to an unknown action and AuthFailure to an unsigned request', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(ec2.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: 'Action=RunInstances&Version=2016-11-15',
      });
    const signed = await post({
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKID/20261121/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x',
    });
    expect(signed.status).toBe(400);
    expect(await signed.text()).toMatch(/<Code>InvalidAction<\/Code>/);
    expect(ec2.calls.at(-1)).toMatchObject({ action: 'RunInstances', region: 'eu-west-1', status: 400 });
    const unsigned = await post({});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toMatch(/<Code>AuthFailure<\/Code>/);
  });
  it('serves a recorded DescribeInstances body verbatim in one region while set, then its own instances', async () => {
    ec2.addInstance({ instanceId: 'i-0aaaaaaaaaaaaaaaa' });
    const recorded =
      '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>' +
      '<reservationSet><item><reservationId>r-1</reservationId><ownerId>1</ownerId><instancesSet><item>' +
      '<instanceId>i-1d48637b</instanceId><instanceState><code>16</code><name>running</name></instanceState>' +
      '<launchTime>2012-05-25T07:34:27.000Z</launchTime></item></instancesSet></item></reservationSet>' +
      '</DescribeInstancesResponse>';
    ec2.serveRecorded('ap-northeast-1', recorded);

    expect((await describeAll(client())).map((i) => i.InstanceId)).toEqual(['i-1d48637b']);
    expect(await describeAll(client('us-east-1'))).toEqual([]);
    ec2.serveRecorded('ap-northeast-1', null);
    expect((await describeAll(client())).map((i) => i.InstanceId)).toEqual(['i-0aaaaaaaaaaaaaaaa']);
  });
});
