/** The adapter's own rules: URL and credential checks, retries, wrong shapes named by field, localhost fallback. */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeAlertmanager } from '../../sandbox/alertmanager-server.js';
import { AlertmanagerClient, authorization, checkUrl } from '../../shared/alertmanager/client.js';
import { AlertmanagerConfigError, AlertmanagerResponseError } from '../../shared/alertmanager/errors.js';
import { loadConfig } from '../../shared/config.js';

const BASE_ENV = { STATE_TABLE: 't', AWS_REGION: 'ap-northeast-1' };
let servers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

async function serve(body: string): Promise<string> {
  const srv: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push({ stop: () => new Promise((r) => srv.close(() => r())) });
  const addr = srv.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

describe('AlertmanagerClient', () => {
  it.each([
    ['https://am.example.com', true],
    ['http://127.0.0.1:9093', true],
    ['http://localhost:9093/prefix', true],
    ['http://[::1]:9093', true],
    ['http://am.example.com', false],
    ['https://user:pw@am.example.com', false],
    ['not a url', false],
  ])('ALERTMANAGER_URL %s accepted: %s', (url, ok) => {
    if (ok) expect(() => checkUrl(url)).not.toThrow();
    else expect(() => checkUrl(url)).toThrow(AlertmanagerConfigError);
  });

  it('turns the credential into an Authorization header: Bearer as is, user:password as Basic', () => {
    expect(authorization('Bearer abc')).toBe('Bearer abc');
    expect(authorization('admin:s3cret')).toBe(`Basic ${Buffer.from('admin:s3cret').toString('base64')}`);
    const err = (() => {
      try {
        authorization('just-a-secret');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(AlertmanagerConfigError);
    expect(err?.message).not.toContain('just-a-secret');
  });

  it('retries 503 within its budget and counts the retries', async () => {
    const fake = new FakeAlertmanager();
    await fake.start();
    servers.push(fake);
    fake.failNext(2, 503);
    const client = new AlertmanagerClient({ url: fake.url, instanceLabel: 'instance_id', sleep: async () => {} });
    const view = await client.view();
    expect(view.silences).toEqual([]);
    expect(client.stats.retries).toBe(2);
    expect(fake.calls.map((c) => c.status)).toEqual([503, 503, 200, 200]);
  });

  it('names the field of a wrong-shaped listing', async () => {
    const url = await serve(JSON.stringify([{ id: 's1', status: { state: 'active' }, createdBy: 'x', comment: '', startsAt: 'soon', endsAt: 'x', matchers: [] }]));
    const err = await new AlertmanagerClient({ url, instanceLabel: 'instance_id' }).view().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlertmanagerResponseError);
    expect((err as AlertmanagerResponseError).field).toBe('0.startsAt');
  });

  it('refuses a label name Prometheus would not accept', () => {
    expect(() => new AlertmanagerClient({ url: 'https://am.example.com', instanceLabel: 'instance-id' })).toThrow(
      AlertmanagerConfigError,
    );
  });
});

describe('config: either backend or both', () => {
  it('neither Mackerel nor Alertmanager configured is an error naming both', () => {
    expect(() => loadConfig(BASE_ENV)).toThrow(/MACKEREL_APIKEY.*ALERTMANAGER_URL/);
  });
  it('Alertmanager alone is a configuration', () => {
    const c = loadConfig({ ...BASE_ENV, ALERTMANAGER_URL: 'https://am.example.com', ALERTMANAGER_AUTH_PARAMETER: '/am/auth' });
    expect(c.apiKey).toBeUndefined();
    expect(c.alertmanager).toEqual({ url: 'https://am.example.com', authParameter: '/am/auth', instanceLabel: 'instance_id' });
  });
  it.each([
    [{ ALERTMANAGER_URL: 'http://am.example.com' }, /ALERTMANAGER_URL .* must use https/],
    [{ ALERTMANAGER_URL: 'https://am.example.com', ALERTMANAGER_INSTANCE_LABEL: 'a-b' }, /ALERTMANAGER_INSTANCE_LABEL/],
  ])('bad Alertmanager settings are named: %o', (env, message) => {
    expect(() => loadConfig({ ...BASE_ENV, MACKEREL_APIKEY: 'k', ...env })).toThrow(message);
  });
});
