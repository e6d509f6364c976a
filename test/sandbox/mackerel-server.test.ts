import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentHostMeta, agentInterfaces, oddHosts } from '../../sandbox/host-meta.js';
import { FakeMackerel } from '../../sandbox/mackerel-server.js';
import { mulberry32 } from '../../sandbox/random.js';

const SEED = 20261121;
console.log(`mackerel-server.test seed=${SEED}`);

let mackerel: FakeMackerel;

beforeEach(async () => {
  mackerel = new FakeMackerel({ rng: mulberry32(SEED) });
  await mackerel.start();
});

afterEach(async () => {
  await mackerel.stop();
});

interface Reply {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are inspected freely
  json: any;
}

async function api(
  method: string,
  path: string,
  body?: unknown,
  opts: { apiKey?: string | null; rawBody?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = opts.apiKey === undefined ? mackerel.apiKey : opts.apiKey;
  if (key !== null) headers['X-Api-Key'] = key;
  const res = await fetch(`${mackerel.url}${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

const now = () => Math.floor(Date.now() / 1000);
type FakeHostMeta = ReturnType<FakeMackerel['addHost']>['meta'];

describe('FakeMackerel', () => {
  it('binds to 127.0.0.1 on a random port', () => {
    expect(mackerel.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('rejects a missing or wrong X-Api-Key with 403 and the error body', async () => {
    const missing = await api('GET', '/api/v0/hosts', undefined, { apiKey: null });
    const wrong = await api('GET', '/api/v0/hosts', undefined, { apiKey: 'nope' });
    for (const r of [missing, wrong]) {
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ error: { message: expect.any(String) } });
    }
    expect(mackerel.calls.map((c) => c.status)).toEqual([403, 403]);
  });

  it('lists working and standby hosts when no status is given, never retired ones', async () => {
    for (const status of ['working', 'standby', 'maintenance', 'poweroff'] as const) {
      mackerel.addHost({ name: `host-${status}`, status });
    }
    mackerel.addHost({ name: 'host-retired', isRetired: true });

    const byDefault = await api('GET', '/api/v0/hosts');
    expect(byDefault.status).toBe(200);
    expect(byDefault.json.hosts.map((h: { name: string }) => h.name).sort()).toEqual([
      'host-standby',
      'host-working',
    ]);

    const all = await api(
      'GET',
      '/api/v0/hosts?status=working&status=standby&status=maintenance&status=poweroff',
    );
    expect(all.json.hosts).toHaveLength(4);
    expect(all.json.hosts.some((h: { isRetired: boolean }) => h.isRetired)).toBe(false);
    expect(mackerel.calls.at(-1)?.query.status).toEqual(['working', 'standby', 'maintenance', 'poweroff']);

    expect((await api('GET', '/api/v0/hosts?status=bogus')).status).toBe(400);
  });

  it('serves host objects with the documented fields and no retiredAt', async () => {
    const h = mackerel.addHost({
      name: 'ip-10-0-1-23.ap-northeast-1.compute.internal',
      customIdentifier: 'i-0123456789abcdef0.ec2.amazonaws.com',
      roles: { web: ['app'] },
      meta: {
        'agent-version': '0.84.0',
        cloud: { provider: 'ec2', metadata: { 'instance-id': 'i-0123456789abcdef0' } },
      },
      interfaces: [{ name: 'eth0', ipAddress: '10.0.1.23', ipv4Addresses: ['10.0.1.23/24'] }],
    });
    expect(h.id).toMatch(/^[0-9A-Za-z]{11}$/);
    expect(h.createdAt).toBeGreaterThan(now() - 5);
    const { json } = await api('GET', '/api/v0/hosts');
    expect(json.hosts).toEqual([
      {
        id: h.id,
        name: h.name,
        customIdentifier: h.customIdentifier,
        status: 'working',
        memo: '',
        roles: { web: ['app'] },
        isRetired: false,
        createdAt: h.createdAt,
        meta: h.meta,
        interfaces: h.interfaces,
        size: 'standard',
      },
    ]);
  });

  it('filters the list by name, service, role and customIdentifier', async () => {
    mackerel.addHost({ name: 'a', roles: { web: ['app', 'db'] }, customIdentifier: 'ci-a' });
    mackerel.addHost({ name: 'b', roles: { web: ['db'] } });
    mackerel.addHost({ name: 'c', roles: { batch: ['worker'] } });
    const names = async (q: string) =>
      (await api('GET', `/api/v0/hosts?${q}`)).json.hosts.map((h: { name: string }) => h.name).sort();
    expect(await names('name=b')).toEqual(['b']);
    expect(await names('service=web')).toEqual(['a', 'b']);
    expect(await names('service=web&role=app')).toEqual(['a']);
    expect(await names('customIdentifier=ci-a')).toEqual(['a']);
    expect((await api('GET', '/api/v0/hosts?role=app')).status).toBe(400);
  });

  it('shows a retired host by id (isRetired: true) but hides it from the list and the custom-identifier lookup', async () => {
    const h = mackerel.addHost({ name: 'gone', customIdentifier: 'i-0aaa.ec2.amazonaws.com' });
    expect((await api('POST', `/api/v0/hosts/${h.id}/retire`, {})).json).toEqual({ success: true });
    expect(h.retiredAt).toBeGreaterThan(0);

    const byId = await api('GET', `/api/v0/hosts/${h.id}`);
    expect(byId.status).toBe(200);
    expect(byId.json.host).toMatchObject({ id: h.id, isRetired: true });
    expect(byId.json.host).not.toHaveProperty('retiredAt');
    expect((await api('GET', '/api/v0/hosts')).json.hosts).toEqual([]);
    expect(
      (
        await api(
          'GET',
          `/api/v0/hosts-by-custom-identifier/${encodeURIComponent('i-0aaa.ec2.amazonaws.com')}`,
        )
      ).status,
    ).toBe(404);

    const again = await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    expect(again.status).toBe(404);
    expect(again.json).toEqual({ error: { message: expect.any(String) } });
  });

  it('answers 404 with the error body for an unknown host or path', async () => {
    for (const [method, path] of [
      ['GET', '/api/v0/hosts/nope'],
      ['POST', '/api/v0/hosts/nope/retire'],
      ['GET', '/api/v0/organizations'],
      ['DELETE', '/api/v0/hosts'],
    ] as const) {
      const r = await api(method, path, method === 'POST' ? {} : undefined);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json).toEqual({ error: { message: expect.any(String) } });
    }
  });

  it('finds a host by its url-encoded custom identifier, case-insensitively on request', async () => {
    const h = mackerel.addHost({ name: 'x', customIdentifier: 'i-0abc.ec2.amazonaws.com/x' });
    const ci = encodeURIComponent('i-0abc.ec2.amazonaws.com/x');
    expect((await api('GET', `/api/v0/hosts-by-custom-identifier/${ci}`)).json.host.id).toBe(h.id);
    const upper = encodeURIComponent('I-0ABC.EC2.AMAZONAWS.COM/X');
    expect((await api('GET', `/api/v0/hosts-by-custom-identifier/${upper}`)).status).toBe(404);
    expect(
      (await api('GET', `/api/v0/hosts-by-custom-identifier/${upper}?caseInsensitive=true`)).json.host.id,
    ).toBe(h.id);
  });

  it('bulk-retire: 400 on empty, non-string or more than 30 ids', async () => {
    const ids = Array.from({ length: 31 }, (_, i) => mackerel.addHost({ name: `h${i}` }).id);
    for (const body of [{ ids }, { ids: [] }, { ids: [1] }, {}, { ids: 'x' }]) {
      const r = await api('POST', '/api/v0/hosts/bulk-retire', body);
      expect(r.status).toBe(400);
      expect(r.json.error.message).toEqual(expect.any(String));
    }
    expect([...mackerel.hosts.values()].filter((h) => h.isRetired)).toEqual([]);
    expect((await api('POST', '/api/v0/hosts/bulk-retire', { ids: ids.slice(0, 30) })).json).toEqual({
      success: true,
    });
    expect([...mackerel.hosts.values()].filter((h) => h.isRetired)).toHaveLength(30);
  });

  it('bulk-retire is atomic: one unknown or already-retired id → 404 and nothing retired', async () => {
    const a = mackerel.addHost({ name: 'a' });
    const b = mackerel.addHost({ name: 'b' });
    const retired = mackerel.addHost({ name: 'r', isRetired: true });
    for (const bad of ['unknown-id', retired.id]) {
      const r = await api('POST', '/api/v0/hosts/bulk-retire', { ids: [a.id, bad, b.id] });
      expect(r.status).toBe(404);
      expect(a.isRetired || b.isRetired).toBe(false);
    }
  });

  it('updates one status, rejecting bad statuses and retired hosts', async () => {
    const h = mackerel.addHost({ name: 'h' });
    expect((await api('POST', `/api/v0/hosts/${h.id}/status`, { status: 'poweroff' })).json).toEqual({
      success: true,
    });
    expect(h.status).toBe('poweroff');
    expect((await api('POST', `/api/v0/hosts/${h.id}/status`, { status: 'off' })).status).toBe(400);
    h.isRetired = true;
    expect((await api('POST', `/api/v0/hosts/${h.id}/status`, { status: 'working' })).status).toBe(404);
  });

  it('bulk-update-statuses: limits, bad status, atomic 404', async () => {
    const ids = Array.from({ length: 31 }, (_, i) => mackerel.addHost({ name: `h${i}` }).id);
    expect((await api('POST', '/api/v0/hosts/bulk-update-statuses', { ids, status: 'standby' })).status).toBe(
      400,
    );
    expect(
      (await api('POST', '/api/v0/hosts/bulk-update-statuses', { ids: ids.slice(0, 2), status: 'nope' }))
        .status,
    ).toBe(400);
    expect(
      (
        await api('POST', '/api/v0/hosts/bulk-update-statuses', {
          ids: [ids[0], 'unknown'],
          status: 'standby',
        })
      ).status,
    ).toBe(404);
    expect(mackerel.hosts.get(ids[0] as string)?.status).toBe('working');
    const ok = await api('POST', '/api/v0/hosts/bulk-update-statuses', {
      ids: ids.slice(0, 30),
      status: 'standby',
    });
    expect(ok.json).toEqual({ success: true });
    expect([...mackerel.hosts.values()].filter((h) => h.status === 'standby')).toHaveLength(30);
  });

  it('replaces roles from role fullnames and rejects malformed ones', async () => {
    const h = mackerel.addHost({ name: 'h', roles: { old: ['gone'] } });
    const r = await api('PUT', `/api/v0/hosts/${h.id}/role-fullnames`, {
      roleFullnames: ['web:app', 'web:db', 'batch:worker'],
    });
    expect(r.json).toEqual({ success: true });
    expect(h.roles).toEqual({ web: ['app', 'db'], batch: ['worker'] });
    for (const bad of [['web'], ['web:'], [':app'], ['a:b:c'], [42]]) {
      expect((await api('PUT', `/api/v0/hosts/${h.id}/role-fullnames`, { roleFullnames: bad })).status).toBe(
        400,
      );
    }
    expect(h.roles).toEqual({ web: ['app', 'db'], batch: ['worker'] });
  });

  it('answers tsdb/latest with only the hosts and metrics that have data', async () => {
    mackerel.setLatestMetric('hostA', 'loadavg5', 1_700_000_000, 0.5);
    mackerel.setLatestMetric('hostA', 'cpu.user.percentage', 1_700_000_060, 12);
    const r = await api(
      'GET',
      '/api/v0/tsdb/latest?hostId=hostA&hostId=hostB&name=loadavg5&name=memory.used',
    );
    expect(r.json).toEqual({ tsdbLatest: { hostA: { loadavg5: { time: 1_700_000_000, value: 0.5 } } } });
    expect((await api('GET', '/api/v0/tsdb/latest?name=loadavg5')).status).toBe(400);
    expect((await api('GET', '/api/v0/tsdb/latest?hostId=hostA')).status).toBe(400);
    const many = Array.from({ length: 101 }, (_, i) => `hostId=h${i}`).join('&');
    expect((await api('GET', `/api/v0/tsdb/latest?${many}&name=loadavg5`)).status).toBe(400);
  });

  it('records valid check reports and rejects bad ones whole', async () => {
    const report = (over: Record<string, unknown> = {}) => ({
      source: { type: 'host', hostId: 'h1' },
      name: 'imds-disabled',
      status: 'WARNING',
      message: 'IMDS is disabled',
      occurredAt: now(),
      ...over,
    });
    const good = await api('POST', '/api/v0/monitoring/checks/report', {
      reports: [report(), report({ status: 'OK' })],
    });
    expect(good.json).toEqual({ success: true });
    expect(mackerel.checkReports).toEqual([
      report({ occurredAt: expect.any(Number) }),
      expect.objectContaining({ status: 'OK' }),
    ]);

    for (const reports of [
      [report({ status: 'FINE' })],
      [report({ occurredAt: now() - 6 * 3600 - 60 })],
      [report({ occurredAt: undefined })],
      [report({ source: { type: 'service' } })],
      Array.from({ length: 101 }, () => report()),
    ]) {
      const r = await api('POST', '/api/v0/monitoring/checks/report', { reports });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toEqual(expect.any(String));
    }
    expect(mackerel.checkReports).toHaveLength(2);
  });

  it('answers 400 to malformed JSON', async () => {
    const h = mackerel.addHost({ name: 'h' });
    const r = await api('POST', `/api/v0/hosts/${h.id}/status`, undefined, { rawBody: '{"status":' });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: { message: expect.any(String) } });
    expect(mackerel.calls.at(-1)).toMatchObject({ status: 400, body: '{"status":' });
  });

  it('injects a 500 once, then succeeds, logging both calls', async () => {
    const h = mackerel.addHost({ name: 'h' });
    mackerel.inject({ method: 'POST', pathPrefix: '/api/v0/hosts/', status: 500, times: 1 });
    const first = await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    expect(first.status).toBe(500);
    expect(first.json).toEqual({ error: { message: expect.any(String) } });
    expect(h.isRetired).toBe(false);
    const second = await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    expect(second.status).toBe(200);
    expect(h.isRetired).toBe(true);
    expect(mackerel.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['POST', `/api/v0/hosts/${h.id}/retire`, 500],
      ['POST', `/api/v0/hosts/${h.id}/retire`, 200],
    ]);
  });

  it('answers a 429 fault with Retry-After: 0, only on matching requests, until cleared', async () => {
    mackerel.inject({ method: 'GET', pathPrefix: '/api/v0/tsdb', status: 429 });
    const limited = await api('GET', '/api/v0/tsdb/latest?hostId=a&name=b');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('0');
    expect((await api('GET', '/api/v0/hosts')).status).toBe(200);
    expect((await api('GET', '/api/v0/tsdb/latest?hostId=a&name=b')).status).toBe(429);
    mackerel.clearFaults();
    expect((await api('GET', '/api/v0/tsdb/latest?hostId=a&name=b')).status).toBe(200);
  });

  it('fires probabilistic faults from its seeded rng', async () => {
    mackerel.inject({ status: 503, probability: 0 });
    expect((await api('GET', '/api/v0/hosts')).status).toBe(200);
    mackerel.clearFaults();
    mackerel.inject({ status: 502, probability: 1, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/api/v0/hosts')).status);
    expect(statuses).toEqual([502, 502, 200]);
  });

  it('marks injected faults in the call log: they never reached the API', async () => {
    const h = mackerel.addHost({ name: 'h' });
    mackerel.inject({ status: 500, times: 1 });
    await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    expect(mackerel.calls.map((c) => [c.status, c.fault])).toEqual([
      [500, true],
      [200, undefined],
      [404, undefined],
    ]);
  });

  it('records every host change as it is made, bulk calls one per host, and tells onMutation at once', async () => {
    const a = mackerel.addHost({ name: 'a', status: 'standby' });
    const b = mackerel.addHost({ name: 'b' });
    const seen: string[] = [];
    mackerel.onMutation = (m) => seen.push(`${m.kind} ${m.hostId} (${a.isRetired ? 'a retired' : 'a live'})`);
    await api('POST', '/api/v0/hosts/bulk-update-statuses', { ids: [a.id, b.id], status: 'poweroff' });
    await api('PUT', `/api/v0/hosts/${b.id}/role-fullnames`, { roleFullnames: ['shop:web'] });
    await api('POST', '/api/v0/hosts/bulk-retire', { ids: [a.id] });
    await api('POST', `/api/v0/hosts/${b.id}/status`, { status: 'working' });
    await api('POST', `/api/v0/hosts/${b.id}/retire`, {});
    await api('POST', '/api/v0/hosts/bulk-retire', { ids: [a.id] }); // already retired: 404, no change
    expect(mackerel.mutations.map(({ at: _at, ...m }) => m)).toEqual([
      { kind: 'status', hostId: a.id, from: 'standby', to: 'poweroff' },
      { kind: 'status', hostId: b.id, from: 'working', to: 'poweroff' },
      { kind: 'roles', hostId: b.id },
      { kind: 'retire', hostId: a.id },
      { kind: 'status', hostId: b.id, from: 'poweroff', to: 'working' },
      { kind: 'retire', hostId: b.id },
    ]);
    // The hook runs as the change is made: the retirement of a is already visible to it.
    expect(seen[3]).toBe(`retire ${a.id} (a retired)`);
    expect(seen).toHaveLength(6);
  });

  it('counts only POST and PUT as write calls', async () => {
    const h = mackerel.addHost({ name: 'h' });
    await api('GET', '/api/v0/hosts');
    await api('PUT', `/api/v0/hosts/${h.id}/role-fullnames`, { roleFullnames: [] });
    await api('POST', `/api/v0/hosts/${h.id}/retire`, {});
    expect(mackerel.writeCalls().map((c) => c.method)).toEqual(['PUT', 'POST']);
    expect(mackerel.calls).toHaveLength(3);
  });

  it('waits latencyMs before answering', async () => {
    mackerel.latencyMs = 40;
    const started = performance.now();
    await api('GET', '/api/v0/hosts');
    // a lower bound only: it is a property of the fake, not a timing goal
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('generates the same host ids from the same seed', () => {
    const a = new FakeMackerel({ rng: mulberry32(7) });
    const b = new FakeMackerel({ rng: mulberry32(7) });
    expect(a.addHost({ name: 'x' }).id).toBe(b.addHost({ name: 'x' }).id);
  });

  it('logs the bytes of every answer: what the client read', async () => {
    const h = mackerel.addHost({ name: 'h' });
    const res = await fetch(`${mackerel.url}/api/v0/hosts/${h.id}`, { headers: { 'X-Api-Key': mackerel.apiKey } });
    const text = await res.text();
    const missing = await fetch(`${mackerel.url}/api/v0/hosts/nope`, { headers: { 'X-Api-Key': mackerel.apiKey } });
    const error = await missing.text();
    expect(mackerel.calls.map((c) => [c.status, c.bytes])).toEqual([
      [200, Buffer.byteLength(text)],
      [404, Buffer.byteLength(error)],
    ]);
  });

  it('serves a long list of realistic hosts in pieces, whole and byte for byte, meta unchanged', async () => {
    const hosts = Array.from({ length: 300 }, (_, i) => {
      const ip = `10.1.${i >> 8}.${(i & 255) + 1}`;
      const instance = {
        instanceId: `i-0${String(i).padStart(16, '0')}`,
        privateIpAddress: ip,
        privateDnsName: `ip-${ip.replace(/\./g, '-')}.ap-northeast-1.compute.internal`,
      };
      return mackerel.addHost({
        name: instance.privateDnsName,
        customIdentifier: `${instance.instanceId}.ec2.amazonaws.com`,
        meta: agentHostMeta({ seed: i, instance }) as unknown as FakeHostMeta,
        interfaces: agentInterfaces({ seed: i, instance }),
      });
    });
    const res = await fetch(`${mackerel.url}/api/v0/hosts`, { headers: { 'X-Api-Key': mackerel.apiKey } });
    const text = await res.text();
    const json = JSON.parse(text);
    expect(json.hosts).toHaveLength(300);
    expect(json.hosts[299].meta).toEqual(hosts[299]?.meta);
    expect(json.hosts[0].interfaces).toEqual(hosts[0]?.interfaces);
    expect(Buffer.byteLength(text)).toBeGreaterThan(300 * 4096);
    expect(mackerel.calls.at(-1)?.bytes).toBe(Buffer.byteLength(text));
    // a change after the first answer shows in the next one (the cached meta text is only the meta's)
    hosts[0]!.status = 'standby';
    const again = await api('GET', '/api/v0/hosts?status=standby');
    expect(again.json.hosts.map((h: { id: string }) => h.id)).toEqual([hosts[0]?.id]);
  });

  it('serves what odd hosts really carry: meta "" or a field nobody knows', async () => {
    for (const o of oddHosts({ seed: SEED, nowS: now(), malformed: true })) mackerel.addHost(o.host);
    const { json } = await api('GET', '/api/v0/hosts?status=working&status=standby&status=maintenance');
    const byName = new Map(json.hosts.map((h: { name: string }) => [h.name, h]));
    expect(byName.get('legacy-db-01')).toMatchObject({ meta: '' });
    expect(byName.get('ops-nas-01')).toMatchObject({ interfaces: null });
    expect(byName.get('kiosk-lobby')).toMatchObject({ futureField: { since: '2030' } });
    expect(byName.get('legacy-web-02')).toMatchObject({ meta: { cloud: 'ec2' } });
  });

  it('gives hosts added without meta an agent\'s meta only when asked to', () => {
    const realistic = new FakeMackerel({ rng: mulberry32(SEED), realisticMeta: true });
    const h = realistic.addHost({ name: 'ip-10-0-1-23.ap-northeast-1.compute.internal', customIdentifier: 'i-0123456789abcdef0.ec2.amazonaws.com' });
    expect(h.meta.cloud?.metadata).toMatchObject({ 'instance-id': 'i-0123456789abcdef0', 'local-ipv4': '10.0.1.23' });
    expect(Array.isArray(h.meta.cpu)).toBe(true);
    expect(mackerel.addHost({ name: 'plain' }).meta).toEqual({});
  });

  describe('the host list, written as a real server writes a large body', () => {
    const hostsPath = '/api/v0/hosts';
    function addMany(n: number): void {
      for (let i = 0; i < n; i++) mackerel.addHost({ name: `h${i}`, meta: { note: `${'x'.repeat(200)} 日本 ${i}` } });
    }

    /** Reads a host list with fetch, byte by byte count, until it ends or `stopAt` bytes arrived. */
    async function readList(stopAt = Number.POSITIVE_INFINITY) {
      const controller = new AbortController();
      const res = await fetch(`${mackerel.url}${hostsPath}`, {
        headers: { 'X-Api-Key': mackerel.apiKey },
        signal: controller.signal,
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const parts: Uint8Array[] = [];
      let bytes = 0;
      while (bytes < stopAt) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        bytes += value.length;
      }
      return { text: Buffer.concat(parts).toString('utf8'), bytes, abort: () => controller.abort() };
    }

    it('serves every host in chunks and logs the bytes of each answer', async () => {
      addMany(50);
      mackerel.hostList = { chunkBytes: 1000 };
      const { text, bytes } = await readList();
      const listed = (JSON.parse(text) as { hosts: { name: string }[] }).hosts.map((h) => h.name);
      expect(listed).toEqual(Array.from({ length: 50 }, (_, i) => `h${i}`));
      expect(bytes).toBeGreaterThan(10_000);
      await api('GET', '/api/v0/hosts/nope');
      expect(mackerel.calls.map((c) => c.bytes)).toEqual([bytes, Buffer.byteLength('{"error":{"message":"Host Not Found."}}')]);
    });

    it('paces the chunks: chunkIntervalMs between two writes', async () => {
      addMany(5);
      mackerel.hostList = { chunkBytes: 400, chunkIntervalMs: 50 };
      const started = performance.now();
      const { bytes } = await readList();
      const gaps = Math.ceil(bytes / 400) - 1;
      // a lower bound only: the pacing is a property of the fake
      expect(performance.now() - started).toBeGreaterThanOrEqual(gaps * 50 - 5);
    });

    it('stalls after stallAfterBytes, holding the connection open, for as many lists as `stalls` says', async () => {
      addMany(50);
      mackerel.hostList = { chunkBytes: 1000, stallAfterBytes: 2500, stalls: 1 };
      const stalled = await readList(2500);
      expect(stalled.bytes).toBe(2500);
      await new Promise((r) => setTimeout(r, 100));
      expect(mackerel.calls[0]?.bytes).toBe(2500);
      stalled.abort();
      const whole = await readList();
      expect(JSON.parse(whole.text).hosts).toHaveLength(50);
      expect(mackerel.hostList.stalls).toBe(0);
    });

    it('stop() ends a stalled list instead of waiting for its client', async () => {
      addMany(10);
      mackerel.hostList = { stallAfterBytes: 100 };
      const stalled = await readList(100);
      expect(stalled.bytes).toBe(100);
      await mackerel.stop();
      expect(mackerel.calls).toHaveLength(1);
    });
  });
});

describe('FakeMackerel raw hosts and verbatim answers (for published fixtures)', () => {
  it('serves a raw host body as given, filters it only on what it can read, and refuses writes to it', async () => {
    mackerel.addRawHost({ id: 'odd1', name: 'odd', status: 'working', meta: '', customIdentifier: 'ci-1' });
    mackerel.addRawHost({ name: 'no-id', status: 'retiring' });
    mackerel.addRawHost({ id: 'gone', name: 'gone', status: 'working', isRetired: true });

    const all = await api('GET', '/api/v0/hosts?status=working');
    expect(all.json.hosts).toEqual([
      { id: 'odd1', name: 'odd', status: 'working', meta: '', customIdentifier: 'ci-1' },
      { name: 'no-id', status: 'retiring' },
    ]);
    expect((await api('GET', '/api/v0/hosts?status=standby')).json.hosts).toEqual([
      { name: 'no-id', status: 'retiring' },
    ]);
    expect((await api('GET', '/api/v0/hosts?customIdentifier=ci-1')).json.hosts).toHaveLength(1);
    expect((await api('GET', '/api/v0/hosts/odd1')).json.host.meta).toBe('');
    expect((await api('GET', '/api/v0/hosts-by-custom-identifier/ci-1')).json.host.id).toBe('odd1');

    const retire = await api('POST', '/api/v0/hosts/bulk-retire', { ids: ['odd1'] });
    expect(retire.status).toBe(404);
    expect(mackerel.mutations).toEqual([]);
  });

  it('answers a verbatim body for the given path, status and number of times, then the API again', async () => {
    mackerel.serveVerbatim({ path: '/api/v0/hosts', status: 200, body: '<not json/>', times: 1 });

    const first = await fetch(`${mackerel.url}/api/v0/hosts`, { headers: { 'X-Api-Key': mackerel.apiKey } });
    expect([first.status, await first.text()]).toEqual([200, '<not json/>']);
    const second = await api('GET', '/api/v0/hosts');
    expect(second.json).toEqual({ hosts: [] });
    expect(mackerel.calls.map((c) => [c.path, c.status])).toEqual([
      ['/api/v0/hosts', 200],
      ['/api/v0/hosts', 200],
    ]);
  });
});
