/** The alerts API of the Mackerel client (#12), against the fake Mackerel over real HTTP. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeMackerel } from '../../sandbox/mackerel-server.js';
import { mulberry32 } from '../../sandbox/random.js';
import { MackerelClient } from '../../shared/mackerel/client.js';
import { MackerelApiError, MackerelResponseError } from '../../shared/mackerel/errors.js';

const SEED = Number(process.env.TEST_SEED ?? 20261130);
console.log(`alerts client tests: seed ${SEED}`);

let fake: FakeMackerel;
let client: MackerelClient;
beforeEach(async () => {
  fake = new FakeMackerel({ apiKey: 'k', rng: mulberry32(SEED) });
  await fake.start();
  client = new MackerelClient({ apiKey: 'k', apiBase: fake.url, sleep: async () => {}, random: mulberry32(SEED) });
});
afterEach(() => fake.stop());

describe('alerts', () => {
  it('lists every open alert, following nextId page by page (limit 100), closed ones left out', async () => {
    for (let i = 0; i < 230; i++) fake.addAlert({ hostId: `h${i % 7}`, openedAt: 1_000_000 + i });
    fake.addAlert({ type: 'service', monitorId: 'svc' });
    const closed = fake.addAlert({ hostId: 'h1' });
    closed.closedAt = 1;

    const alerts = await client.listOpenAlerts();

    expect(alerts).toHaveLength(231);
    expect(alerts.filter((a) => a.hostId === undefined)).toMatchObject([{ type: 'service' }]);
    const lists = fake.calls.filter((c) => c.path === '/api/v0/alerts');
    expect(lists.map((c) => c.query.nextId === undefined)).toEqual([true, false, false]);
    expect(lists.every((c) => c.query.limit?.[0] === '100')).toBe(true);
  });

  it('closes an alert with its reason', async () => {
    const a = fake.addAlert({ hostId: 'h1' });
    await client.closeAlert(a.id, 'instance i-0123456789abcdef0 is stopped');
    expect(fake.alerts.get(a.id)).toMatchObject({ status: 'OK', reason: 'instance i-0123456789abcdef0 is stopped' });
    await expect(client.closeAlert('nope', 'x')).rejects.toBeInstanceOf(MackerelApiError);
  });

  it('an answer of the wrong shape is a typed error naming the field', async () => {
    fake.serveVerbatim({ path: '/api/v0/alerts', body: JSON.stringify({ alerts: [{ id: 7, status: 'CRITICAL', type: 'connectivity' }] }) });
    const err = await client.listOpenAlerts().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MackerelResponseError);
    expect(String((err as Error).message)).toContain('alerts.0.id');
  });
});
