/** The fake Mackerel's graph annotations: checked as the real API checks them, kept, listed by service and span. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeMackerel } from '../../sandbox/mackerel-server.js';
import { mulberry32 } from '../../sandbox/random.js';

const SEED = 20261130;
console.log(`graph annotations sandbox test seed=${SEED}`);
let mackerel: FakeMackerel;

beforeEach(async () => {
  mackerel = new FakeMackerel({ rng: mulberry32(SEED) });
  await mackerel.start();
  mackerel.addHost({ name: 'web-1', roles: { shop: ['web', 'db'] } });
  // a retired host's service still exists
  mackerel.addHost({ name: 'old', roles: { legacy: ['app'] }, isRetired: true });
});
afterEach(() => mackerel.stop());

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${mackerel.url}${path}`, {
    method,
    headers: { 'X-Api-Key': mackerel.apiKey, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const good = { title: 'deploy', description: 'v2', from: 1_800_000_000, to: 1_800_000_030, service: 'shop' };

describe('POST /api/v0/graph-annotations', () => {
  it('stores the annotation and answers it with an id; roles are optional', async () => {
    const a = await call('POST', '/api/v0/graph-annotations', good);
    const b = await call('POST', '/api/v0/graph-annotations', { ...good, service: 'legacy', roles: ['app'] });
    expect(a).toEqual({ status: 200, json: { id: expect.stringMatching(/^\w{11}$/), ...good } });
    expect(b.status).toBe(200);
    expect(mackerel.graphAnnotations.map((x) => x.service)).toEqual(['shop', 'legacy']);
    expect(mackerel.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['POST', '/api/v0/graph-annotations', 200],
      ['POST', '/api/v0/graph-annotations', 200],
    ]);
  });

  it.each([
    ['no title', { title: undefined }, 400, /title is required/],
    ['a title over 250 characters', { title: 't'.repeat(251) }, 400, /title exceeds 250/],
    ['a description over 1024 characters', { description: 'd'.repeat(1025) }, 400, /description exceeds 1024/],
    ['no from', { from: undefined }, 400, /from is required/],
    ['from after to', { from: 1_800_000_031 }, 400, /from exceeds to/],
    ['milliseconds', { from: 1.8e12, to: 1.8e12 }, 400, /epoch seconds/],
    ['no service', { service: undefined }, 400, /service is required/],
    ['an unknown service', { service: 'nope' }, 404, /Service nope not found/],
    ['an unknown role', { roles: ['cache'] }, 404, /Role shop:cache not found/],
  ])('refuses %s', async (_name, over, status, message) => {
    const r = await call('POST', '/api/v0/graph-annotations', { ...good, ...over });
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ error: { message: expect.stringMatching(message) } });
    expect(mackerel.graphAnnotations).toEqual([]);
  });
});

describe('GET /api/v0/graph-annotations', () => {
  it("lists a service's annotations that overlap the span", async () => {
    await call('POST', '/api/v0/graph-annotations', good);
    await call('POST', '/api/v0/graph-annotations', { ...good, from: 1_900_000_000, to: 1_900_000_000 });
    const r = await call('GET', '/api/v0/graph-annotations?service=shop&from=1800000010&to=1800000100');
    expect(r.status).toBe(200);
    expect((r.json.graphAnnotations as { from: number }[]).map((a) => a.from)).toEqual([1_800_000_000]);
    expect((await call('GET', '/api/v0/graph-annotations?service=nope&from=0&to=1')).status).toBe(404);
    expect((await call('GET', '/api/v0/graph-annotations?service=shop')).status).toBe(400);
  });
});
