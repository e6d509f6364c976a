/** The Mackerel client's graph annotations: the body checked against Mackerel's limits, the answer validated. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeMackerel } from '../../sandbox/mackerel-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import { MackerelApiError, MackerelResponseError } from '../../shared/mackerel/errors.js';
import { MackerelClient } from '../../shared/mackerel/client.js';

const SEED = 20261130;
console.log(`graph annotation client tests: seed ${SEED}`);
const API_KEY = 'annotation-test-key';
let fake: FakeMackerel;
const servers: Server[] = [];

const client = (apiBase = fake.url) =>
  new MackerelClient({ apiKey: API_KEY, apiBase, sleep: async () => {}, random: mulberry32(SEED) });

const annotation = (over: Record<string, unknown> = {}) => ({
  title: 'mackerel-reconciler: retired 2 hosts',
  description: 'retired web-1 (h1, i-1): instance i-1 is terminated',
  from: 1_800_000_000,
  to: 1_800_000_030,
  service: 'shop',
  ...over,
});

/** A server answering every request with `body`. */
async function answering(status: number, body: string): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  fake = new FakeMackerel({ apiKey: API_KEY, rng: mulberry32(SEED) });
  await fake.start();
  fake.addHost({ name: 'web-1', roles: { shop: ['web'] } });
});
afterAll(() => fake.stop());
afterEach(async () => {
  fake.calls.length = 0;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('postGraphAnnotation', () => {
  it('posts the annotation as the API takes it and returns its id', async () => {
    const { id } = await client().postGraphAnnotation(annotation());
    expect(id).toMatch(/^[0-9A-Za-z]{11}$/);
    expect(fake.calls).toMatchObject([{ method: 'POST', path: '/api/v0/graph-annotations', body: annotation(), status: 200 }]);
    expect(fake.graphAnnotations.at(-1)).toEqual({ id, ...annotation() });
  });

  it.each([
    ['a title over 250 characters', { title: 'x'.repeat(251) }, /annotation\.title/],
    ['a description over 1024 characters', { description: 'x'.repeat(1025) }, /annotation\.description/],
    ['from after to', { from: 1_800_000_031 }, /annotation\.from: from is after to/],
    ['epoch milliseconds', { from: 1.8e12, to: 1.8e12 + 5 }, /annotation\.from/],
    ['no service', { service: '' }, /annotation\.service/],
  ])('refuses %s before sending, naming the field', async (_name, over, message) => {
    await expect(client().postGraphAnnotation(annotation(over))).rejects.toThrow(message);
    expect(fake.calls).toEqual([]);
  });

  it("an unknown service is Mackerel's 404, not retried", async () => {
    const err = await client()
      .postGraphAnnotation(annotation({ service: 'nope' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MackerelApiError);
    expect(err).toMatchObject({ status: 404, message: expect.stringContaining('Service nope not found') });
    expect(fake.calls).toHaveLength(1);
  });

  it('an answer without an id is a response error naming the field', async () => {
    const base = await answering(200, '{"title":"ok"}');
    const err = await client(base)
      .postGraphAnnotation(annotation())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MackerelResponseError);
    expect(String((err as Error).message)).toMatch(/id/);
  });
});
