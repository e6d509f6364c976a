/**
 * What the Alertmanager adapter relies on, run against the sandbox fake (fake.test.ts) and the real
 * Alertmanager 0.25 (real.test.ts): the same suite, so the fake cannot drift from the real thing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient } from '../../shared/alertmanager/client.js';
import { AlertmanagerApiError } from '../../shared/alertmanager/errors.js';
import { SILENCE_CREATOR } from '../../shared/reconcile/silences.js';

export interface ContractTarget {
  url: string;
  stop(): Promise<void>;
}

export interface AuthTarget extends ContractTarget {
  /** a credential the server accepts, as ALERTMANAGER_AUTH_PARAMETER holds it */
  credential: string;
}

const HOUR = 3_600_000;
const LABEL = 'instance_id';

async function raw(url: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

type RawSilence = { id: string; status: { state: string }; endsAt: string; createdBy: string; matchers: unknown[] };

export function alertmanagerContract(
  name: string,
  start: () => Promise<ContractTarget>,
  startWithAuth: () => Promise<AuthTarget>,
): void {
  describe(`Alertmanager contract: ${name}`, () => {
    let am: ContractTarget;
    let client: AlertmanagerClient;
    beforeAll(async () => {
      am = await start();
      client = new AlertmanagerClient({ url: am.url, instanceLabel: LABEL });
    });
    afterAll(() => am?.stop());

    const silenceOf = async (id: string) => (await raw(am.url, `/api/v2/silence/${id}`)).json as RawSilence;

    it('creates one silence per instance, found again by createdBy and its matcher', async () => {
      const now = Date.now();
      const res = await client.putSilences([
        { instanceId: 'i-0a1', endsAt: now + 24 * HOUR, comment: 'instance i-0a1 is stopped' },
        { instanceId: 'i-0a2', endsAt: now + 24 * HOUR, comment: 'instance i-0a2 is stopped' },
      ]);
      expect(res.failed).toEqual([]);
      expect(res.done.sort()).toEqual(['i-0a1', 'i-0a2']);
      const view = await client.view(['i-0a1', 'i-0a2']);
      expect(view.silences.map((s) => s.instanceId).sort()).toEqual(['i-0a1', 'i-0a2']);
      const s = view.silences.find((x) => x.instanceId === 'i-0a1');
      expect(Math.abs((s?.endsAt ?? 0) - (now + 24 * HOUR))).toBeLessThan(1000);
      const stored = await silenceOf(s?.id ?? '');
      expect(stored.createdBy).toBe(SILENCE_CREATOR);
      expect(stored.status.state).toBe('active');
      expect(stored.matchers).toEqual([{ name: LABEL, value: 'i-0a1', isEqual: true, isRegex: false }]);
    });

    it('extends a silence in place: same id, when matchers and startsAt are sent unchanged', async () => {
      const now = Date.now();
      await client.putSilences([{ instanceId: 'i-0b1', endsAt: now + 2 * HOUR, comment: 'stopped' }]);
      const [before] = (await client.view(['i-0b1'])).silences;
      expect(before).toBeDefined();
      const res = await client.putSilences([
        { instanceId: 'i-0b1', endsAt: now + 24 * HOUR, comment: 'stopped', existing: { id: before!.id, startsAt: before!.startsAt } },
      ]);
      expect(res.failed).toEqual([]);
      const after = (await client.view(['i-0b1'])).silences;
      expect(after).toHaveLength(1);
      expect(after[0]?.id).toBe(before?.id);
      expect(Math.abs((after[0]?.endsAt ?? 0) - (now + 24 * HOUR))).toBeLessThan(1000);
    });

    it('quirk: an update with another startsAt expires the old silence and makes a new id', async () => {
      const now = Date.now();
      await client.putSilences([{ instanceId: 'i-0c1', endsAt: now + 2 * HOUR, comment: 'stopped' }]);
      const [before] = (await client.view(['i-0c1'])).silences;
      await client.putSilences([
        { instanceId: 'i-0c1', endsAt: now + 3 * HOUR, comment: 'stopped', existing: { id: before!.id, startsAt: before!.startsAt - 60_000 } },
      ]);
      const after = (await client.view(['i-0c1'])).silences;
      expect(after).toHaveLength(1);
      expect(after[0]?.id).not.toBe(before?.id);
      expect((await silenceOf(before!.id)).status.state).toBe('expired');
    });

    it('expires a silence; it stays listed as expired, and expiring it again or an unknown id is done', async () => {
      await client.putSilences([{ instanceId: 'i-0d1', endsAt: Date.now() + HOUR, comment: 'stopped' }]);
      const [s] = (await client.view(['i-0d1'])).silences;
      const res = await client.expireSilences([s!.id, s!.id, '00000000-0000-4000-8000-000000000000']);
      expect(res.failed).toEqual([]);
      expect((await client.view(['i-0d1'])).silences).toEqual([]);
      const listed = (await raw(am.url, `/api/v2/silences`)).json as RawSilence[];
      expect(listed.find((x) => x.id === s!.id)?.status.state).toBe('expired');
    });

    it("never lists people's silences as ours, so they are never touched", async () => {
      const now = new Date().toISOString();
      const endsAt = new Date(Date.now() + HOUR).toISOString();
      const byPerson = await raw(am.url, '/api/v2/silences', {
        method: 'POST',
        body: JSON.stringify({
          matchers: [{ name: LABEL, value: 'i-0e1', isEqual: true, isRegex: false }],
          startsAt: now,
          endsAt,
          createdBy: 'alice',
          comment: 'maintenance',
        }),
      });
      expect(byPerson.status).toBe(200);
      const regexOfOurs = await raw(am.url, '/api/v2/silences', {
        method: 'POST',
        body: JSON.stringify({
          matchers: [{ name: LABEL, value: 'i-0e.*', isEqual: true, isRegex: true }],
          startsAt: now,
          endsAt,
          createdBy: SILENCE_CREATOR,
          comment: 'made by hand with our name',
        }),
      });
      expect(regexOfOurs.status).toBe(200);
      expect((await client.view(['i-0e1'])).silences).toEqual([]);
      expect((await client.view()).silences.map((s) => s.instanceId)).not.toContain('i-0e1');
      const personId = (byPerson.json as { silenceID: string }).silenceID;
      expect((await silenceOf(personId)).status.state).toBe('active');
    });

    it('posts an alert that fires, then resolves it with endsAt now', async () => {
      const res = await client.postAlerts([
        { alertname: 'ImdsDisabled', instanceId: 'i-0f1', endsAt: Date.now() + HOUR, summary: 'IMDS is disabled' },
      ]);
      expect(res.done).toEqual(['i-0f1']);
      expect((await client.view(['i-0f1'])).imdsAlerts).toEqual(['i-0f1']);
      const alerts = (await raw(am.url, '/api/v2/alerts?filter=alertname%3D%22ImdsDisabled%22')).json as {
        labels: Record<string, string>;
      }[];
      expect(alerts.find((a) => a.labels[LABEL] === 'i-0f1')?.labels).toMatchObject({ alertname: 'ImdsDisabled' });
      await client.postAlerts([{ alertname: 'ImdsDisabled', instanceId: 'i-0f1', endsAt: Date.now(), summary: 'fixed' }]);
      expect((await client.view(['i-0f1'])).imdsAlerts).toEqual([]);
    });

    it('reaches a server bound to 127.0.0.1 through a URL naming localhost', async () => {
      const local = new AlertmanagerClient({ url: am.url.replace('127.0.0.1', 'localhost'), instanceLabel: LABEL });
      await local.putSilences([{ instanceId: 'i-0g1', endsAt: Date.now() + HOUR, comment: 'stopped' }]);
      expect((await local.view(['i-0g1'])).silences).toHaveLength(1);
    });

    it('refuses a silence that ends in the past (a typed error with the status)', async () => {
      const res = await client.putSilences([{ instanceId: 'i-0h1', endsAt: Date.now() - HOUR, comment: 'x' }]);
      expect(res.failed[0]?.error).toBeInstanceOf(AlertmanagerApiError);
      expect((res.failed[0]?.error as AlertmanagerApiError).status).toBe(400);
    });
  });

  describe(`Alertmanager contract with auth: ${name}`, () => {
    let am: AuthTarget;
    beforeAll(async () => {
      am = await startWithAuth();
    });
    afterAll(() => am?.stop());

    it('sends the credential; without it the server refuses', async () => {
      const ok = new AlertmanagerClient({ url: am.url, instanceLabel: LABEL, auth: am.credential });
      const res = await ok.putSilences([{ instanceId: 'i-0k1', endsAt: Date.now() + HOUR, comment: 'stopped' }]);
      expect(res.failed).toEqual([]);
      expect((await ok.view(['i-0k1'])).silences).toHaveLength(1);
      const anonymous = new AlertmanagerClient({ url: am.url, instanceLabel: LABEL });
      const err = await anonymous.view().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlertmanagerApiError);
      expect((err as AlertmanagerApiError).status).toBe(401);
    });
  });
}
