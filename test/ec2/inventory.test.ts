import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEc2 } from '../../sandbox/ec2-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import {
  Ec2Inventory,
  Ec2ShapeError,
  idsInNotFoundMessage,
  type RegionProgress,
  toInstance,
} from '../../shared/ec2/inventory.js';

const SEED = Number(process.env.TEST_SEED ?? 7_311_2024);
console.log(`ec2 inventory tests: seed ${SEED}`);

const TOKYO = 'ap-northeast-1';
const IRELAND = 'eu-west-1';
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

let fake: FakeEc2;

function inventoryAt(url: string, maxAttempts = 6): Ec2Inventory {
  const clients = new Map<string, EC2Client>();
  return new Ec2Inventory({
    clientFor: (region) => {
      let c = clients.get(region);
      if (!c) {
        c = new EC2Client({ region, endpoint: url, credentials, maxAttempts });
        clients.set(region, c);
      }
      return c;
    },
  });
}

const describeCalls = () => fake.calls.filter((c) => c.action === 'DescribeInstances');

beforeAll(async () => {
  fake = new FakeEc2({ rng: mulberry32(SEED) });
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.instances.clear();
  fake.calls.length = 0;
  fake.throttle(null);
  fake.failRegion(IRELAND, null);
  fake.failRegion(TOKYO, null);
});

describe('listRegion', () => {
  it('pages through 2,500 instances, 1000 at a time, in every state', async () => {
    const states = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
    for (let i = 0; i < 2500; i++) fake.addInstance({ region: TOKYO, state: states[i % states.length] });
    fake.addInstance({ region: IRELAND });
    const inv = inventoryAt(fake.url);
    const res = await inv.listRegion(TOKYO);
    if (!res.ok) throw new Error(res.error);
    expect(res.instances).toHaveLength(2500);
    expect(new Set(res.instances.map((i) => i.instanceId)).size).toBe(2500);
    expect(new Set(res.instances.map((i) => i.state))).toEqual(new Set(states));
    expect(res.instances.every((i) => i.region === TOKYO)).toBe(true);
    expect(inv.stats.describeCalls).toBe(3);
    const calls = describeCalls();
    expect(calls.map((c) => [c.region, c.params.MaxResults, c.params.NextToken !== undefined])).toEqual([
      [TOKYO, '1000', false],
      [TOKYO, '1000', true],
      [TOKYO, '1000', true],
    ]);
    expect(calls.some((c) => Object.keys(c.params).some((k) => k.startsWith('Filter')))).toBe(false);
  });

  it('maps the fields the reconciler needs', async () => {
    const launchTime = new Date('2024-05-01T10:20:30Z');
    const a = fake.addInstance({
      region: TOKYO,
      privateIpAddress: '10.0.1.23',
      launchTime,
      tags: { Name: 'web-1', 'mackerel-reconciler:ignore': 'true' },
      httpEndpoint: 'disabled',
      state: 'stopped',
    });
    const t = fake.addInstance({ region: TOKYO, state: 'terminated' });
    const res = await inventoryAt(fake.url).listRegion(TOKYO);
    if (!res.ok) throw new Error(res.error);
    const byId = new Map(res.instances.map((i) => [i.instanceId, i]));
    expect(byId.get(a.instanceId)).toEqual({
      instanceId: a.instanceId,
      region: TOKYO,
      state: 'stopped',
      privateDnsName: 'ip-10-0-1-23.ap-northeast-1.compute.internal',
      privateIpAddress: '10.0.1.23',
      launchTime: launchTime.getTime(),
      tags: { Name: 'web-1', 'mackerel-reconciler:ignore': 'true' },
      httpEndpoint: 'disabled',
      httpTokens: 'optional',
      httpPutResponseHopLimit: 1,
    });
    // terminated instances come back with an empty DNS name and no IP: both absent, not ""
    expect(byId.get(t.instanceId)).toEqual({
      instanceId: t.instanceId,
      region: TOKYO,
      state: 'terminated',
      launchTime: t.launchTime.getTime(),
      tags: {},
      httpEndpoint: 'enabled',
      httpTokens: 'optional',
      httpPutResponseHopLimit: 1,
    });
  });

  it('reads the IMDS token mode, hop limit and platform', async () => {
    const w = fake.addInstance({ region: TOKYO, httpTokens: 'required', platform: 'windows' });
    const res = await inventoryAt(fake.url).listRegion(TOKYO);
    if (!res.ok) throw new Error(res.error);
    expect(res.instances.find((i) => i.instanceId === w.instanceId)).toMatchObject({
      httpTokens: 'required',
      httpPutResponseHopLimit: 1,
      platform: 'windows',
    });
  });

  it('reports a failing region as not ok, next to the regions that worked', async () => {
    fake.addInstance({ region: TOKYO });
    fake.failRegion(IRELAND, {
      status: 403,
      code: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
    });
    const inv = inventoryAt(fake.url);
    const [tokyo, ireland] = await inv.listRegions([TOKYO, IRELAND]);
    expect(tokyo).toMatchObject({ region: TOKYO, ok: true });
    expect(tokyo?.ok && tokyo.instances).toHaveLength(1);
    expect(ireland).toEqual({
      region: IRELAND,
      ok: false,
      error: 'UnauthorizedOperation: You are not authorized to perform this operation.',
    });
    expect(inv.stats.describeCalls).toBe(2);
  });

  it('tells a progress listener after each page and once per region when done or failed', async () => {
    for (let i = 0; i < 2100; i++) fake.addInstance({ region: TOKYO });
    fake.failRegion(IRELAND, { status: 403, code: 'UnauthorizedOperation', message: 'Not authorized.' });
    const seen: RegionProgress[] = [];
    await inventoryAt(fake.url).listRegions([TOKYO, IRELAND], (p) => seen.push(p));
    expect(seen.filter((p) => p.region === TOKYO)).toEqual([
      { region: TOKYO, pages: 1, instances: 1000, done: false },
      { region: TOKYO, pages: 2, instances: 2000, done: false },
      { region: TOKYO, pages: 3, instances: 2100, done: false },
      { region: TOKYO, pages: 3, instances: 2100, done: true },
    ]);
    expect(seen.filter((p) => p.region === IRELAND)).toEqual([
      { region: IRELAND, pages: 0, instances: 0, done: true, error: 'UnauthorizedOperation: Not authorized.' },
    ]);
  });

  it('a progress listener that throws does not fail the region', async () => {
    fake.addInstance({ region: TOKYO });
    const res = await inventoryAt(fake.url).listRegion(TOKYO, () => {
      throw new Error('broken terminal');
    });
    expect(res.ok && res.instances).toHaveLength(1);
  });

  it('an endpoint that is down is a failed region, not an empty one', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((resolve) => dead.close(resolve));
    const res = await inventoryAt(url, 1).listRegion(TOKYO);
    expect(res.ok).toBe(false);
    expect(res.ok ? '' : res.error).toMatch(/ECONNREFUSED/);
  });

  it('lets the SDK retry throttling', async () => {
    fake.addInstance({ region: TOKYO });
    fake.throttle({ times: 2 });
    const inv = inventoryAt(fake.url);
    const res = await inv.listRegion(TOKYO);
    expect(res.ok && res.instances.length).toBe(1);
    expect(describeCalls().map((c) => c.status)).toEqual([503, 503, 200]);
    expect(inv.stats.describeCalls).toBe(1); // one command, retried by the SDK
  });

  it('by default reaches EC2 through AWS_ENDPOINT_URL_EC2, one client per region', async () => {
    fake.addInstance({ region: TOKYO });
    fake.addInstance({ region: IRELAND });
    const keys = ['AWS_ENDPOINT_URL_EC2', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
    const saved = keys.map((k) => process.env[k]);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_EC2: fake.url,
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
    });
    try {
      const inv = new Ec2Inventory();
      const res = await inv.listRegions([TOKYO, IRELAND, TOKYO]);
      expect(res.map((r) => [r.region, r.ok && r.instances.length])).toEqual([
        [TOKYO, 1],
        [IRELAND, 1],
      ]);
      expect(
        describeCalls()
          .map((c) => c.region)
          .sort(),
      ).toEqual([TOKYO, IRELAND]);
    } finally {
      keys.forEach((k, i) => {
        const v = saved[i];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      });
    }
  });
});

describe('describe', () => {
  it('sets one unknown id aside and still returns the others', async () => {
    const a = fake.addInstance({ region: TOKYO }).instanceId;
    const b = fake.addInstance({ region: TOKYO }).instanceId;
    const unknown = 'i-0123456789abcdef0';
    const inv = inventoryAt(fake.url);
    const res = await inv.describe(TOKYO, [a, unknown, b]);
    expect(res.found.map((i) => i.instanceId).sort()).toEqual([a, b].sort());
    expect(res.notFound).toEqual([unknown]);
    const calls = describeCalls();
    expect(calls.map((c) => c.status)).toEqual([400, 200]);
    expect(calls.every((c) => c.params.MaxResults === undefined)).toBe(true);
    expect(calls[1]?.params).toMatchObject({ 'InstanceId.1': a, 'InstanceId.2': b });
    expect(inv.stats.describeCalls).toBe(2);
  });

  it('handles several unknown ids named in one message, and ids of another region', async () => {
    const a = fake.addInstance({ region: TOKYO }).instanceId;
    const elsewhere = fake.addInstance({ region: IRELAND }).instanceId;
    const unknown = 'i-00000000000000001';
    const res = await inventoryAt(fake.url).describe(TOKYO, [unknown, a, elsewhere]);
    expect(res.found.map((i) => i.instanceId)).toEqual([a]);
    expect(res.notFound.sort()).toEqual([unknown, elsewhere].sort());
    expect(describeCalls()).toHaveLength(2);
  });

  it('all unknown, or nothing asked', async () => {
    const inv = inventoryAt(fake.url);
    expect(await inv.describe(TOKYO, ['i-00000000000000001', 'i-00000000000000002'])).toEqual({
      found: [],
      notFound: ['i-00000000000000001', 'i-00000000000000002'],
    });
    expect(await inv.describe(TOKYO, [])).toEqual({ found: [], notFound: [] });
    expect(describeCalls()).toHaveLength(1);
  });

  it('falls back to one call per id when the NotFound message names no id', async () => {
    const a = fake.addInstance({ region: TOKYO }).instanceId;
    const b = fake.addInstance({ region: TOKYO }).instanceId;
    const unknown = 'i-0123456789abcdef0';
    // a proxy in front of the fake that strips the ids from NotFound messages
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void (async () => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
        ) as Record<string, string>;
        const upstream = await fetch(fake.url + (req.url ?? '/'), {
          method: req.method,
          headers,
          body: Buffer.concat(chunks),
        });
        const text = (await upstream.text()).replace(
          /<Message>The instance IDs?[^<]*<\/Message>/,
          '<Message>Some instances do not exist</Message>',
        );
        res.writeHead(upstream.status, { 'content-type': 'text/xml' });
        res.end(text);
      })());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const res = await inventoryAt(url).describe(TOKYO, [a, unknown, b]);
      expect(res.found.map((i) => i.instanceId)).toEqual([a, b]);
      expect(res.notFound).toEqual([unknown]);
      expect(describeCalls().map((c) => c.status)).toEqual([400, 200, 400, 200]);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('lets other errors propagate', async () => {
    await expect(inventoryAt(fake.url).describe(TOKYO, ['not-an-id'])).rejects.toMatchObject({
      name: 'InvalidInstanceID.Malformed',
    });
  });
});

describe('enableMetadataEndpoint', () => {
  it('turns the instance metadata endpoint on', async () => {
    const i = fake.addInstance({ region: TOKYO, httpEndpoint: 'disabled' });
    const inv = inventoryAt(fake.url);
    await inv.enableMetadataEndpoint(TOKYO, i.instanceId);
    expect(fake.instances.get(i.instanceId)?.httpEndpoint).toBe('enabled');
    const call = fake.calls.find((c) => c.action === 'ModifyInstanceMetadataOptions');
    expect(call).toMatchObject({
      region: TOKYO,
      status: 200,
      params: { InstanceId: i.instanceId, HttpEndpoint: 'enabled' },
    });
    expect(call?.params.HttpTokens).toBeUndefined();
    expect(inv.stats.modifyCalls).toBe(1);
    const { found } = await inv.describe(TOKYO, [i.instanceId]);
    expect(found[0]?.httpEndpoint).toBe('enabled');
  });

  it('throws when EC2 refuses', async () => {
    const i = fake.addInstance({ region: TOKYO, state: 'terminated', httpEndpoint: 'disabled' });
    await expect(inventoryAt(fake.url).enableMetadataEndpoint(TOKYO, i.instanceId)).rejects.toMatchObject({
      name: 'IncorrectInstanceState',
    });
  });
});

describe('toInstance', () => {
  const base = {
    InstanceId: 'i-1',
    State: { Name: 'running' as const },
    LaunchTime: new Date(1000),
  };

  it.each([
    ['InstanceId', { ...base, InstanceId: undefined }],
    ['State.Name', { ...base, State: {} }],
    ['State.Name', { ...base, State: { Name: 'exploded' } }],
    ['LaunchTime', { ...base, LaunchTime: undefined }],
    ['MetadataOptions.HttpEndpoint', { ...base, MetadataOptions: { HttpEndpoint: 'sideways' } }],
  ])('refuses an instance with a bad %s', (field, raw) => {
    let err: unknown;
    try {
      toInstance(TOKYO, raw as Parameters<typeof toInstance>[1]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Ec2ShapeError);
    expect(err).toMatchObject({ field, region: TOKYO });
    expect((err as Error).message).toContain(field);
  });

  it('defaults HttpEndpoint to enabled and keeps tags without a value', () => {
    expect(
      toInstance(TOKYO, { ...base, Tags: [{ Key: 'a' }, { Value: 'orphan' }, { Key: 'b', Value: 'c' }] }),
    ).toEqual({
      instanceId: 'i-1',
      region: TOKYO,
      state: 'running',
      launchTime: 1000,
      tags: { a: '', b: 'c' },
      httpEndpoint: 'enabled',
    });
  });
});

describe('idsInNotFoundMessage', () => {
  it.each([
    ["The instance ID 'i-1' does not exist", ['i-1']],
    ["The instance IDs 'i-0abc, i-0def' do not exist", ['i-0abc', 'i-0def']],
    ['Some instances do not exist', []],
  ])('%s', (message, ids) => {
    expect(idsInNotFoundMessage(message)).toEqual(ids);
  });
});
