import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fillerMeta } from '../../sandbox/filler-meta.js';
import { type FakeHost, FakeMackerel } from '../../sandbox/mackerel-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import { MackerelClient, type MackerelClientOptions } from '../../shared/mackerel/client.js';
import {
  HostListDeadlineError,
  HostListEnvelopeError,
  HostListStalledError,
  MackerelApiError,
  MackerelConfigError,
  MackerelNetworkError,
  MackerelResponseError,
} from '../../shared/mackerel/errors.js';
import type { CheckReport } from '../../shared/mackerel/schemas.js';

const SEED = Number(process.env.TEST_SEED ?? 20240611);
console.log(`mackerel client tests: seed ${SEED}`);

const API_KEY = 'sEcReT-api-key-0123456789';

let fake: FakeMackerel;
let slept: number[];
let retries: { method: string; path: string; attempt: number; status?: number; delayMs: number }[];

function client(over: Partial<MackerelClientOptions> = {}): MackerelClient {
  return new MackerelClient({
    apiKey: API_KEY,
    apiBase: fake.url,
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: mulberry32(SEED),
    onRetry: (info) => retries.push(info),
    ...over,
  });
}

/** A one-off HTTP server for answers the fake will not give (wrong shapes, Retry-After, silence). */
async function tinyServer(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<{ url: string; server: Server; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res, n++));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, requests: () => n };
}

const tiny: Server[] = [];
async function tinyJson(
  answer: (n: number) => { status?: number; body: string; headers?: Record<string, string> },
) {
  const t = await tinyServer((_req, res, n) => {
    const a = answer(n);
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body);
  });
  tiny.push(t.server);
  return t;
}

function validHost(id: string, extra: Record<string, unknown> = {}) {
  return { id, name: `host-${id}`, status: 'working', createdAt: 1_700_000_000, ...extra };
}

beforeAll(async () => {
  fake = new FakeMackerel({ apiKey: API_KEY, rng: mulberry32(SEED) });
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.hosts.clear();
  fake.calls.length = 0;
  fake.checkReports.length = 0;
  fake.clearFaults();
  fake.hostList = {};
  slept = [];
  retries = [];
});
afterEach(async () => {
  for (const s of tiny.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe('configuration', () => {
  it.each([
    'https://api.mackerelio.com',
    'https://api.mackerelio.com/',
    'http://127.0.0.1:8080',
    'http://127.1.2.3',
    'http://localhost:3000',
    'http://[::1]:3000',
  ])('accepts %s', (apiBase) => {
    expect(() => new MackerelClient({ apiKey: API_KEY, apiBase })).not.toThrow();
  });

  it.each([
    'http://api.mackerelio.com',
    'http://10.0.0.1',
    'http://127.example.com',
    'http://localhost.example.com',
    'ftp://127.0.0.1',
    'not a url',
  ])('refuses %s', (apiBase) => {
    expect(() => new MackerelClient({ apiKey: API_KEY, apiBase })).toThrow(MackerelConfigError);
  });

  it('refuses an empty key, and a key fetch would quote back in its own error', () => {
    expect(() => new MackerelClient({ apiKey: '', apiBase: 'https://api.mackerelio.com' })).toThrow(
      MackerelConfigError,
    );
    const bad = `${API_KEY}\n`;
    try {
      new MackerelClient({ apiKey: `x${bad}y`, apiBase: 'https://api.mackerelio.com' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MackerelConfigError);
      expect(String(err)).not.toContain(API_KEY);
    }
  });
});

describe('hosts', () => {
  it('listHosts asks for all four live statuses, sends the key, and never lists retired hosts', async () => {
    for (const status of ['working', 'standby', 'maintenance', 'poweroff'] as const) {
      fake.addHost({ name: `h-${status}`, status });
    }
    fake.addHost({ name: 'gone', isRetired: true });
    const { hosts } = await client().listHosts();
    expect(hosts.map((h) => h.name).sort()).toEqual([
      'h-maintenance',
      'h-poweroff',
      'h-standby',
      'h-working',
    ]);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]?.query.status).toEqual(['working', 'standby', 'maintenance', 'poweroff']);
    expect(fake.calls[0]?.status).toBe(200);
  });

  it('listHosts with given statuses asks for those only; with none it asks nothing', async () => {
    fake.addHost({ name: 'w', status: 'working' });
    fake.addHost({ name: 'p', status: 'poweroff' });
    const c = client();
    expect((await c.listHosts(['poweroff'])).hosts.map((h) => h.name)).toEqual(['p']);
    expect(await c.listHosts([])).toEqual({ hosts: [], unreadable: [], bytes: 0, durationMs: 0 });
    expect(fake.calls).toHaveLength(1);
  });

  it('listHosts parses the documented host fields', async () => {
    fake.addHost({
      id: 'abcDEF12345',
      name: 'ip-10-0-1-23.ap-northeast-1.compute.internal',
      customIdentifier: 'i-0123456789abcdef0.ec2.amazonaws.com',
      status: 'standby',
      roles: { web: ['app', 'api'] },
      createdAt: 1_700_000_123,
      meta: {
        'agent-version': '0.84.0',
        cloud: { provider: 'ec2', metadata: { 'instance-id': 'i-0123456789abcdef0' } },
      },
      interfaces: [{ name: 'eth0', ipAddress: '10.0.1.23', ipv4Addresses: ['10.0.1.23'] }],
    });
    const [host] = (await client().listHosts()).hosts;
    expect(host).toMatchObject({
      id: 'abcDEF12345',
      customIdentifier: 'i-0123456789abcdef0.ec2.amazonaws.com',
      status: 'standby',
      roles: { web: ['app', 'api'] },
      isRetired: false,
      createdAt: 1_700_000_123,
      meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': 'i-0123456789abcdef0' } } },
      interfaces: [{ name: 'eth0', ipAddress: '10.0.1.23' }],
    });
  });

  it('getHost reads retired hosts and answers undefined for unknown ids, without retrying the 404', async () => {
    const h = fake.addHost({ name: 'old', isRetired: true });
    const c = client();
    expect((await c.getHost(h.id))?.isRetired).toBe(true);
    expect(await c.getHost('nope')).toBeUndefined();
    expect(fake.calls.map((x) => x.status)).toEqual([200, 404]);
    expect(c.stats.retries).toBe(0);
    expect(c.stats.byEndpoint).toEqual({ 'GET /api/v0/hosts/:id': 2 });
  });

  it('getHostByCustomIdentifier encodes the identifier', async () => {
    fake.addHost({ name: 'x', customIdentifier: 'i-0abc.ec2.amazonaws.com' });
    fake.addHost({ name: 'y', customIdentifier: 'odd/id?with#chars' });
    const c = client();
    expect((await c.getHostByCustomIdentifier('i-0abc.ec2.amazonaws.com'))?.name).toBe('x');
    expect((await c.getHostByCustomIdentifier('odd/id?with#chars'))?.name).toBe('y');
    expect(await c.getHostByCustomIdentifier('i-none.ec2.amazonaws.com')).toBeUndefined();
    expect(fake.calls[1]?.path).toBe('/api/v0/hosts-by-custom-identifier/odd%2Fid%3Fwith%23chars');
    expect(c.stats.byEndpoint).toEqual({ 'GET /api/v0/hosts-by-custom-identifier/:id': 3 });
  });
});

describe('retries', () => {
  it('retries a 500 and then succeeds', async () => {
    fake.addHost({ name: 'a' });
    fake.inject({ pathPrefix: '/api/v0/hosts', status: 500, times: 2 });
    const c = client();
    expect((await c.listHosts()).hosts).toHaveLength(1);
    expect(fake.calls.map((x) => x.status)).toEqual([500, 500, 200]);
    expect(c.stats).toMatchObject({ requests: 3, retries: 2, byEndpoint: { 'GET /api/v0/hosts': 3 } });
    expect(slept).toHaveLength(2);
    expect(retries.map((r) => [r.attempt, r.status, r.path])).toEqual([
      [1, 500, '/api/v0/hosts'],
      [2, 500, '/api/v0/hosts'],
    ]);
    // full jitter: attempt n waits in [0, base·2^(n-1))
    expect(slept[0]).toBeLessThan(200);
    expect(slept[1]).toBeLessThan(400);
  });

  it('honours Retry-After on 429 instead of its own backoff', async () => {
    fake.inject({ method: 'POST', status: 429, times: 1 }); // the fake answers Retry-After: 0
    const h = fake.addHost({ name: 'a' });
    const c = client({ random: () => 0.999 });
    await c.updateHostStatuses([h.id], 'poweroff');
    expect(fake.calls.map((x) => x.status)).toEqual([429, 200]);
    expect(slept).toEqual([0]);
    expect(retries[0]?.status).toBe(429);
    expect(fake.hosts.get(h.id)?.status).toBe('poweroff');
  });

  it('Retry-After seconds are honoured and capped by maxDelayMs', async () => {
    const t = await tinyJson((n) =>
      n % 2 === 0
        ? { status: 429, body: '{"error":{"message":"slow down"}}', headers: { 'retry-after': '3' } }
        : { body: '{"hosts":[]}' },
    );
    await client({ apiBase: t.url }).listHosts();
    await client({ apiBase: t.url, maxDelayMs: 1000 }).listHosts();
    expect(slept).toEqual([3000, 1000]);
  });

  it('gives up when the budget is spent, with the last status and path', async () => {
    fake.inject({ status: 503 });
    const c = client({ random: () => 0.999, budgetMs: 1000, maxAttempts: 100 });
    const err = await c.listHosts().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MackerelApiError);
    expect(err).toMatchObject({ status: 503, method: 'GET', path: '/api/v0/hosts' });
    expect((err as Error).message).toBe('Mackerel API GET /api/v0/hosts answered 503: Service Unavailable');
    // waits of 199 and 399 ms fit in 1000; the next (799) would not
    expect(slept).toEqual([199, 399]);
    expect(fake.calls).toHaveLength(3);
  });

  it('gives up after maxAttempts', async () => {
    fake.inject({ status: 502 });
    const c = client({ maxAttempts: 3 });
    await expect(c.listHosts()).rejects.toMatchObject({ name: 'MackerelApiError', status: 502 });
    expect(fake.calls).toHaveLength(3);
    expect(c.stats).toMatchObject({ requests: 3, retries: 2 });
  });

  it('does not retry other 4xx', async () => {
    const h = fake.addHost({ name: 'a' });
    const c = client();
    const err = await c.updateRoleFullnames(h.id, ['web:_bad']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MackerelApiError);
    expect(err).toMatchObject({
      status: 400,
      method: 'PUT',
      path: `/api/v0/hosts/${h.id}/role-fullnames`,
      apiMessage: 'invalid role fullname: "web:_bad"',
    });
    // A bulk call's failure is its batch's outcome, not an exception.
    expect(await c.updateHostStatuses(['unknown'], 'standby')).toMatchObject({
      done: [],
      failed: [{ id: 'unknown', error: { name: 'MackerelApiError', status: 404 } }],
    });
    expect(fake.calls.map((x) => x.status)).toEqual([400, 404]);
    expect(c.stats.retries).toBe(0);
    expect(slept).toEqual([]);
  });

  it('retries a request that times out', async () => {
    const t = await tinyServer((_req, res, n) => {
      if (n === 0) return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"tsdbLatest":{}}');
    });
    tiny.push(t.server);
    const c = client({ apiBase: t.url, timeoutMs: 100 });
    expect(await c.latestMetrics(['h1'], ['loadavg5'])).toEqual({ latest: {}, unreadable: [] });
    expect(t.requests()).toBe(2);
    expect(c.stats.retries).toBe(1);
    expect(retries[0]?.status).toBeUndefined();
  });

  it('a dead endpoint ends in MackerelNetworkError once attempts run out', async () => {
    const t = await tinyJson(() => ({ body: '{}' }));
    const deadUrl = t.url;
    t.server.close();
    const c = client({ apiBase: deadUrl, maxAttempts: 2 });
    const err = await c.listHosts().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MackerelNetworkError);
    expect((err as Error).message).toMatch(/^Mackerel API GET \/api\/v0\/hosts failed: /);
    expect(c.stats).toMatchObject({ requests: 2, retries: 1 });
  });
});

describe('the API key stays secret', () => {
  it('is absent from every error message and retry notice', async () => {
    const messages: string[] = [];
    const collect = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(Error);
      messages.push(String(e), JSON.stringify(e), (e as Error).stack ?? '');
    };
    // wrong key: 403
    await collect(client({ apiKey: `${API_KEY}-wrong` }).listHosts());
    // 5xx until the end
    fake.inject({ status: 500 });
    await collect(client({ maxAttempts: 2 }).listHosts());
    // a server that quotes the key back
    const echo = await tinyServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bad key ${String(req.headers['x-api-key'])}` } }));
    });
    tiny.push(echo.server);
    await collect(client({ apiBase: echo.url }).listHosts());
    // timeout
    const silent = await tinyServer(() => {});
    tiny.push(silent.server);
    await collect(client({ apiBase: silent.url, timeoutMs: 50, maxAttempts: 1 }).getHost('x'));
    await collect(client({ apiBase: silent.url, hostListTtfbMs: 50, maxAttempts: 1 }).listHosts());

    expect(messages.join('\n')).toContain('bad key ***');
    for (const m of [...messages, JSON.stringify(retries)]) expect(m).not.toContain(API_KEY);
  });
});

describe('response shapes', () => {
  it('quarantines a host of the wrong shape, naming the field, and reads the others', async () => {
    const t = await tinyJson(() => ({ body: '{"hosts":[{"id":1}]}' }));
    const list = await client({ apiBase: t.url }).listHosts();
    expect(list.hosts).toEqual([]);
    expect(list.unreadable).toEqual([{ field: 'hosts.0.id', problem: expect.stringMatching(/string/) }]);
    expect(t.requests()).toBe(1);
  });

  it('quarantines a bad status deep in the list and an old host whose meta is an empty string', async () => {
    const hosts = [
      validHost('a'),
      validHost('b'),
      validHost('c', { meta: '' }),
      validHost('d', { status: 'broken' }),
    ];
    const t = await tinyJson(() => ({ body: JSON.stringify({ hosts }) }));
    const list = await client({ apiBase: t.url }).listHosts();
    expect(list.hosts.map((h) => h.id)).toEqual(['a', 'b']);
    expect(list.unreadable).toEqual([
      { id: 'c', field: 'hosts.2.meta', problem: expect.stringMatching(/object/) },
      { id: 'd', field: 'hosts.3.status', problem: expect.stringMatching(/^Invalid option/) },
    ]);
  });

  it('fails on a wrong envelope, naming it, without retrying', async () => {
    for (const [body, want] of [
      ['{"hosts":{}}', /answered an unexpected shape: hosts: .*array/],
      ['{"tsdbLatest":{}}', /answered an unexpected shape: hosts: /],
      ['[]', /answered an unexpected shape: .*object/],
      ['<html>proxy error</html>', /answered an unexpected shape: body is not JSON/],
    ] as const) {
      const t = await tinyJson(() => ({ body }));
      const err = await client({ apiBase: t.url })
        .listHosts()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MackerelResponseError);
      expect((err as Error).message).toMatch(want);
      expect(t.requests()).toBe(1); // a wrong shape is not retried
    }
  });

  it('getHost refuses a host of the wrong shape, naming the field', async () => {
    const t = await tinyJson(() => ({ body: JSON.stringify({ host: validHost('x', { meta: '' }) }) }));
    await expect(client({ apiBase: t.url }).getHost('x')).rejects.toThrow(/host\.meta: /);
    expect(await client({ apiBase: t.url }).lookupHost('x')).toMatchObject({
      hosts: [],
      unreadable: [{ id: 'x', field: 'host.meta' }],
    });
  });

  it('refuses a body that is not JSON', async () => {
    const t = await tinyJson(() => ({ body: '<html>proxy error</html>' }));
    await expect(client({ apiBase: t.url }).getHost('x')).rejects.toThrow(
      'Mackerel API GET /api/v0/hosts/x answered an unexpected shape: body is not JSON',
    );
  });

  it('uses the status text when an error body is not Mackerel-shaped', async () => {
    const t = await tinyJson(() => ({ status: 400, body: '<html>nope</html>' }));
    await expect(client({ apiBase: t.url }).getHost('x')).rejects.toThrow(
      'Mackerel API GET /api/v0/hosts/x answered 400: Bad Request',
    );
  });

  it('drops null metric entries', async () => {
    const t = await tinyJson(() => ({
      body: JSON.stringify({ tsdbLatest: { h1: { loadavg5: null, 'cpu.user': { time: 10, value: 1.5 } } } }),
    }));
    expect(await client({ apiBase: t.url }).latestMetrics(['h1'], ['loadavg5', 'cpu.user'])).toEqual({
      latest: { h1: { 'cpu.user': { time: 10, value: 1.5 } } },
      unreadable: [],
    });
  });

  it('sets aside an entry of the wrong shape and reads the others', async () => {
    const t = await tinyJson(() => ({
      body: JSON.stringify({ tsdbLatest: { h1: { loadavg5: { time: 'soon', value: 1 } }, h2: { loadavg5: { time: 10, value: 2 } } } }),
    }));
    expect(await client({ apiBase: t.url }).latestMetrics(['h1', 'h2'], ['loadavg5'])).toEqual({
      latest: { h2: { loadavg5: { time: 10, value: 2 } } },
      unreadable: [{ id: 'h1', field: 'tsdbLatest.h1.loadavg5.time', problem: expect.stringMatching(/number/) }],
    });
  });
});

describe('bulk endpoints', () => {
  it('retires 65 hosts in 3 calls of at most 30', async () => {
    const ids = Array.from({ length: 65 }, (_, i) => fake.addHost({ name: `h${i}` }).id);
    const c = client();
    const res = await c.retireHosts([...ids, ids[0] as string]);
    expect(res.retired).toHaveLength(65);
    expect(res.alreadyRetired).toEqual([]);
    expect(res.notFound).toEqual([]);
    const posts = fake.calls.filter((x) => x.path === '/api/v0/hosts/bulk-retire');
    expect(posts.map((x) => (x.body as { ids: string[] }).ids.length)).toEqual([30, 30, 5]);
    expect([...fake.hosts.values()].every((h) => h.isRetired)).toBe(true);
    expect(c.stats.byEndpoint).toEqual({ 'POST /api/v0/hosts/bulk-retire': 3 });
  });

  it('after an atomic 404, re-reads each id and retires only the live ones', async () => {
    const a = fake.addHost({ name: 'a' }).id;
    const b = fake.addHost({ name: 'b' }).id;
    const gone = fake.addHost({ name: 'gone', isRetired: true }).id;
    const res = await client().retireHosts([a, gone, 'unknown-id', b, a]);
    expect(res).toEqual({
      retired: [a, b],
      alreadyRetired: [gone],
      notFound: ['unknown-id'],
      done: [a, gone, 'unknown-id', b],
      failed: [],
    });
    expect(fake.calls.map((x) => `${x.method} ${x.path} ${x.status}`)).toEqual([
      'POST /api/v0/hosts/bulk-retire 404',
      `GET /api/v0/hosts/${a} 200`,
      `GET /api/v0/hosts/${gone} 200`,
      'GET /api/v0/hosts/unknown-id 404',
      `GET /api/v0/hosts/${b} 200`,
      'POST /api/v0/hosts/bulk-retire 200',
    ]);
    expect(fake.calls[0]?.body).toEqual({ ids: [a, gone, 'unknown-id', b] });
    expect(fake.calls[5]?.body).toEqual({ ids: [a, b] });
    expect(fake.hosts.get(a)?.isRetired && fake.hosts.get(b)?.isRetired).toBe(true);
  });

  it('retires nothing and calls nothing for an empty list, or when every id is already gone', async () => {
    const gone = fake.addHost({ name: 'gone', isRetired: true }).id;
    const c = client();
    expect(await c.retireHosts([])).toEqual({ retired: [], alreadyRetired: [], notFound: [], done: [], failed: [] });
    expect(fake.calls).toHaveLength(0);
    expect(await c.retireHosts([gone])).toEqual({
      retired: [],
      alreadyRetired: [gone],
      notFound: [],
      done: [gone],
      failed: [],
    });
    expect(fake.calls.map((x) => x.method)).toEqual(['POST', 'GET']);
  });

  it('updates statuses in calls of at most 30', async () => {
    const ids = Array.from({ length: 31 }, (_, i) => fake.addHost({ name: `h${i}` }).id);
    await client().updateHostStatuses(ids, 'poweroff');
    const posts = fake.calls.filter((x) => x.path === '/api/v0/hosts/bulk-update-statuses');
    expect(posts.map((x) => x.body)).toEqual([
      { ids: ids.slice(0, 30), status: 'poweroff' },
      { ids: ids.slice(30), status: 'poweroff' },
    ]);
    expect([...fake.hosts.values()].every((h) => h.status === 'poweroff')).toBe(true);
    await client().updateHostStatuses([], 'working');
    expect(fake.calls).toHaveLength(2);
  });

  it.each([
    ['retireHosts', 30] as const,
    ['updateHostStatuses', 30] as const,
    ['postCheckReports', 100] as const,
  ])('%s: a batch that fails fails only its own items, the batches around it are done', async (method, size) => {
    // The second call of three fails for good (one attempt); the first and the third go through.
    const t = await tinyJson((n) => (n === 1 ? { status: 500, body: '{"error":{"message":"boom"}}' } : { body: '{}' }));
    const c = client({ apiBase: t.url, maxAttempts: 1 });
    const n = 2 * size + 1;
    const ids = Array.from({ length: n }, (_, i) => `h${i}`);
    const reports: CheckReport[] = ids.map((hostId) => ({
      source: { type: 'host', hostId },
      name: 'imds-disabled',
      status: 'OK',
      message: 'fixed',
      occurredAt: 1,
    }));
    const res =
      method === 'postCheckReports'
        ? await c.postCheckReports(reports)
        : method === 'retireHosts'
          ? await c.retireHosts(ids)
          : await c.updateHostStatuses(ids, 'poweroff');
    const items: unknown[] = method === 'postCheckReports' ? reports : ids;
    expect(res.done).toEqual([...items.slice(0, size), ...items.slice(2 * size)]);
    expect(res.failed.map((f) => f.id)).toEqual(items.slice(size, 2 * size));
    expect(res.failed[0]?.error).toMatchObject({ name: 'MackerelApiError', status: 500, apiMessage: 'boom' });
    expect(t.requests()).toBe(3);
  });

  it('replaces role fullnames', async () => {
    const h = fake.addHost({ name: 'a', roles: { old: ['x'] } });
    await client().updateRoleFullnames(h.id, ['web:app', 'web:api', 'db:main']);
    expect(fake.hosts.get(h.id)?.roles).toEqual({ web: ['app', 'api'], db: ['main'] });
    expect(fake.calls[0]).toMatchObject({
      method: 'PUT',
      body: { roleFullnames: ['web:app', 'web:api', 'db:main'] },
    });
  });

  it('reads latest metrics in calls of at most 100 hosts', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `host${String(i).padStart(3, '0')}`);
    ids.forEach((id, i) => {
      if (i % 3 !== 0) fake.setLatestMetric(id, 'loadavg5', 1_700_000_000 + i, i / 10);
    });
    fake.setLatestMetric('host001', 'cpu.user.percentage', 1_700_000_001, 42);
    const c = client();
    const { latest } = await c.latestMetrics(ids, ['loadavg5', 'cpu.user.percentage']);
    const gets = fake.calls.filter((x) => x.path === '/api/v0/tsdb/latest');
    expect(gets.map((x) => x.query.hostId?.length)).toEqual([100, 50]);
    expect(gets[0]?.query.name).toEqual(['loadavg5', 'cpu.user.percentage']);
    expect(Object.keys(latest)).toHaveLength(100);
    expect(latest.host000).toBeUndefined();
    expect(latest.host001).toEqual({
      loadavg5: { time: 1_700_000_001, value: 0.1 },
      'cpu.user.percentage': { time: 1_700_000_001, value: 42 },
    });
    expect(latest.host149).toEqual({ loadavg5: { time: 1_700_000_149, value: 14.9 } });
    expect(await c.latestMetrics([], ['loadavg5'])).toEqual({ latest: {}, unreadable: [] });
    expect(await c.latestMetrics(ids, [])).toEqual({ latest: {}, unreadable: [] });
    expect(fake.calls).toHaveLength(2);
  });

  it('posts check reports in calls of at most 100', async () => {
    const now = Math.floor(Date.now() / 1000);
    const reports: CheckReport[] = Array.from({ length: 150 }, (_, i) => ({
      source: { type: 'host', hostId: `h${i}` },
      name: 'imds-disabled',
      status: 'WARNING',
      message: `IMDS is disabled on i-${i}`,
      occurredAt: now,
    }));
    await client().postCheckReports(reports);
    const posts = fake.calls.filter((x) => x.path === '/api/v0/monitoring/checks/report');
    expect(posts.map((x) => (x.body as { reports: unknown[] }).reports.length)).toEqual([100, 50]);
    expect(fake.checkReports).toEqual(reports);
  });

  it('refuses an invalid check report before sending anything', async () => {
    const bad = {
      source: { type: 'host', hostId: 'h' },
      name: 'x',
      status: 'BAD',
      message: '',
      occurredAt: 1,
    };
    await expect(client().postCheckReports([bad as unknown as CheckReport])).rejects.toThrow(
      /reports\.0\.status/,
    );
    expect(fake.calls).toHaveLength(0);
  });
});

describe('the host list, streamed', () => {
  /** n hosts the size of real agents' (~5.6 KB of meta each) */
  function realSizedHosts(n: number): void {
    const rng = mulberry32(SEED);
    for (let i = 0; i < n; i++) {
      const instanceId = `i-${String(i).padStart(17, '0')}`;
      fake.addHost({
        name: `ip-10-0-${i >> 8}-${i & 255}.ap-northeast-1.compute.internal`,
        customIdentifier: `${instanceId}.ec2.amazonaws.com`,
        meta: {
          ...fillerMeta(rng),
          'agent-version': '0.84.0',
          cloud: { provider: 'ec2', metadata: { 'instance-id': instanceId } },
        },
        interfaces: [
          { name: 'eth0', ipAddress: `10.0.0.${i & 255}`, ipv4Addresses: [`10.0.0.${i & 255}/24`] },
        ],
      });
    }
  }
  const listGets = () => fake.calls.filter((c) => c.method === 'GET' && c.path === '/api/v0/hosts');

  it('reads real-sized hosts and keeps only what is used of them; bytes are those the server sent', async () => {
    realSizedHosts(20);
    const list = await client().listHosts();
    expect(list.hosts).toHaveLength(20);
    const [gets] = [listGets()];
    expect(gets).toHaveLength(1);
    expect(list.bytes).toBe(gets[0]?.bytes);
    expect(list.bytes).toBeGreaterThan(20 * 5000);
    const first = list.hosts[0];
    expect(Object.keys(first?.meta ?? {}).sort()).toEqual(['agent-version', 'cloud']);
    expect(first?.interfaces).toEqual([{ name: 'eth0', ipAddress: '10.0.0.0', ipv4Addresses: ['10.0.0.0/24'] }]);
    expect(first).not.toHaveProperty('memo');
    expect(first).not.toHaveProperty('size');
  });

  it('quarantines a host of the wrong shape as it streams past; fields it drops unread cannot quarantine', async () => {
    realSizedHosts(4);
    const [a, b, c] = [...fake.hosts.values()] as FakeHost[];
    (a as { meta: unknown }).meta = '';
    (b as { createdAt: unknown }).createdAt = 'yesterday';
    // Fields nobody reads are dropped before validation, whatever their shape.
    Object.assign(c as object, { memo: 42, size: null, meta: { ...c?.meta, cpu: 'not a list' } });
    const list = await client().listHosts();
    expect(list.hosts.map((h) => h.id)).toEqual([...fake.hosts.keys()].slice(2));
    expect(list.unreadable).toEqual([
      { id: a?.id, field: 'hosts.0.meta', problem: expect.stringMatching(/object/) },
      { id: b?.id, field: 'hosts.1.createdAt', problem: expect.stringMatching(/number/) },
    ]);
  });

  it('a list that arrives slowly but steadily for longer than 10 s is read to the end, in one request', async () => {
    realSizedHosts(20);
    const size = (await client().listHosts()).bytes;
    // 41 chunks, 300 ms apart: 12 s in all, longer than the 10 s that once bounded the whole exchange.
    fake.hostList = { chunkBytes: Math.ceil(size / 41), chunkIntervalMs: 300 };
    const c = client();
    const list = await c.listHosts();
    expect(list.hosts.map((h) => h.name)).toEqual([...fake.hosts.values()].map((h) => h.name));
    expect(list.bytes).toBe(size);
    expect(listGets().map((g) => g.bytes)).toEqual([size, size]);
    expect(c.stats.retries).toBe(0);
    // The premise, not a goal: the pacing above cannot deliver in less than 40 × 300 ms.
    expect(list.durationMs).toBeGreaterThanOrEqual(12_000);
  });

  it('a list that stalls fails naming the stall and the bytes read, once the retry stalls too', async () => {
    realSizedHosts(20);
    fake.hostList = { stallAfterBytes: 50_000 };
    const c = client({ hostListIdleMs: 1000, maxAttempts: 2 });
    const err = await c.listHosts().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostListStalledError);
    expect((err as Error).message).toBe(
      'Mackerel API GET /api/v0/hosts failed: host list stalled: no data for 1000 ms after 50.0 KB',
    );
    expect(err).toMatchObject({ bound: 'idle', bytes: 50_000 });
    expect(listGets().map((g) => g.bytes)).toEqual([50_000, 50_000]);
    expect(retries.map((r) => r.path)).toEqual(['/api/v0/hosts']);
  });

  it('a list that stalls once is read whole on the retry', async () => {
    realSizedHosts(20);
    fake.hostList = { stallAfterBytes: 50_000, stalls: 1 };
    const list = await client({ hostListIdleMs: 1000 }).listHosts();
    expect(list.hosts).toHaveLength(20);
    expect(listGets().map((g) => g.bytes)).toEqual([50_000, list.bytes]);
  });

  it('before a deadline, a retry starts only when a whole attempt still fits', async () => {
    realSizedHosts(20);
    fake.hostList = { stallAfterBytes: 50_000 };
    // The attempt stalls after 1 s; another would need at least as long, and only 0.8 s would be left.
    const c = client({ hostListIdleMs: 1000 });
    const err = await c.listHosts(undefined, { deadline: Date.now() + 1800 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostListStalledError);
    expect(listGets()).toHaveLength(1);
    expect(c.stats.retries).toBe(0);
  });

  it('a deadline that passes mid-list aborts it, names the bytes read, and is never retried', async () => {
    realSizedHosts(20);
    fake.hostList = { chunkBytes: 4096, chunkIntervalMs: 100 };
    const c = client();
    const err = await c.listHosts(undefined, { deadline: Date.now() + 700 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostListDeadlineError);
    expect((err as Error).message).toMatch(/host list missed the run's deadline: [\d.]+ KB read in \d+ ms$/);
    const bytes = (err as HostListDeadlineError).bytes;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes % 4096).toBe(0);
    expect(listGets()).toHaveLength(1);
    expect(c.stats.retries).toBe(0);
  });

  it('no headers within hostListTtfbMs: retried like any timeout', async () => {
    const t = await tinyServer((_req, res, n) => {
      if (n === 0) return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"hosts":[]}');
    });
    tiny.push(t.server);
    const c = client({ apiBase: t.url, hostListTtfbMs: 100 });
    expect((await c.listHosts()).hosts).toEqual([]);
    expect(t.requests()).toBe(2);
    expect(retries).toMatchObject([{ attempt: 1, path: '/api/v0/hosts' }]);
    expect(retries[0]?.status).toBeUndefined();
  });

  it('a body cut short is retried', async () => {
    const t = await tinyServer((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(n === 0 ? '{"hosts":[{"id":"a","name":"a","status":"working","createdAt":1},{"id":' : '{"hosts":[]}');
    });
    tiny.push(t.server);
    const c = client({ apiBase: t.url });
    expect((await c.listHosts()).hosts).toEqual([]);
    expect(t.requests()).toBe(2);
  });

  it('a wrong envelope fails at once, naming the problem, never retried', async () => {
    const t = await tinyJson(() => ({ body: '{"hosts":{"a":1}}' }));
    const err = await client({ apiBase: t.url })
      .listHosts()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostListEnvelopeError);
    expect(err).toMatchObject({ problem: 'hosts-not-array' });
    expect((err as Error).message).toBe(
      'Mackerel API GET /api/v0/hosts answered an unexpected shape: hosts: is an object, not an array',
    );
    expect(t.requests()).toBe(1);
  });

  it('an error status is still a MackerelApiError with the server message', async () => {
    const t = await tinyJson(() => ({ status: 400, body: '{"error":{"message":"invalid status"}}' }));
    await expect(client({ apiBase: t.url }).listHosts()).rejects.toMatchObject({
      name: 'MackerelApiError',
      status: 400,
      apiMessage: 'invalid status',
    });
  });
});
