// A small Alertmanager API v2 (silences and alerts), for `npm start` and the tests. It mimics what Alertmanager
// 0.25 was seen to do (docs/alertmanager.md) and passes the same contract suite as the real binary
// (test/alertmanager/contract.ts), so it cannot drift unnoticed.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, readBody } from './http.js';

export interface AmMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface AmSilence {
  id: string;
  matchers: AmMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  updatedAt: string;
}

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export interface AmCall {
  method: string;
  path: string;
  status: number;
  body?: unknown;
  authorization?: string;
}

/** Alertmanager's default `resolve_timeout`: an alert posted without endsAt fires this long. */
const RESOLVE_TIMEOUT_MS = 5 * 60_000;

const fingerprint = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());

/** `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`: the filter syntax of the API's `filter` parameter. */
function parseFilter(f: string): ((labels: Record<string, string>) => boolean) | undefined {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(.*)"\s*$/.exec(f);
  if (!m) return undefined;
  const [, name = '', op, value = ''] = m;
  const re = op === '=~' || op === '!~' ? new RegExp(`^(?:${value})$`) : undefined;
  return (labels) => {
    const v = labels[name];
    if (v === undefined) return false;
    if (op === '=') return v === value;
    if (op === '!=') return v !== value;
    if (op === '=~') return re?.test(v) ?? false;
    return !(re?.test(v) ?? false);
  };
}

export class FakeAlertmanager extends FakeServer {
  readonly calls: AmCall[] = [];
  readonly silences = new Map<string, AmSilence>();
  readonly alerts = new Map<string, AmAlert>();
  /** when set, requests without exactly this Authorization header answer 401 */
  requiredAuthorization?: string;
  private failures: { status: number; times: number } | undefined;

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  /** the next `times` requests answer `status` */
  failNext(times: number, status = 503): void {
    this.failures = { status, times };
  }

  stateOf(s: AmSilence): 'active' | 'pending' | 'expired' {
    const now = this.now();
    if (Date.parse(s.endsAt) <= now) return 'expired';
    return Date.parse(s.startsAt) > now ? 'pending' : 'active';
  }

  /** a silence as the API shows it */
  view(s: AmSilence) {
    return { ...s, status: { state: this.stateOf(s) } };
  }

  protected bugBody(message: string): string {
    return JSON.stringify({ code: 500, message });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const method = req.method ?? 'GET';
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    const reply = (status: number, out: unknown) => {
      this.calls.push({ method, path: url.pathname, status, body, ...(authorization ? { authorization } : {}) });
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(out === undefined ? '' : JSON.stringify(out));
    };
    if (this.requiredAuthorization !== undefined && authorization !== this.requiredAuthorization) {
      reply(401, 'Unauthorized');
      return;
    }
    if (this.failures && this.failures.times > 0) {
      this.failures.times--;
      reply(this.failures.status, { code: this.failures.status, message: 'sandbox: injected failure' });
      return;
    }
    const route = `${method} ${url.pathname.replace(/\/api\/v2\/silence\/[^/]+$/, '/api/v2/silence/{id}')}`;
    const id = decodeURIComponent(url.pathname.split('/').pop() ?? '');
    const filters = url.searchParams.getAll('filter').map(parseFilter);
    if (filters.some((f) => !f)) {
      reply(400, { code: 400, message: 'bad matcher format' });
      return;
    }
    const matches = (labels: Record<string, string>) => filters.every((f) => f?.(labels));
    // Alertmanager 0.25 matches a silence listing's filter against the silence's matchers literally: same
    // name, same operator, same value (a regex filter finds only a regex matcher with that very pattern).
    const rawFilters = url.searchParams.getAll('filter').map((f) => f.replace(/\s+/g, ''));
    const listsSilence = (s: AmSilence) =>
      rawFilters.every((f) =>
        s.matchers.some((m) => f === `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}"${m.value}"`),
      );
    switch (route) {
      case 'GET /api/v2/silences': {
        const list = [...this.silences.values()].filter(listsSilence);
        reply(200, list.map((s) => this.view(s)));
        return;
      }
      case 'POST /api/v2/silences':
        this.postSilence(body, reply);
        return;
      case 'GET /api/v2/silence/{id}': {
        const s = this.silences.get(id);
        if (s) reply(200, this.view(s));
        else reply(404, undefined);
        return;
      }
      case 'DELETE /api/v2/silence/{id}': {
        const s = this.silences.get(id);
        // 0.25 answers 500 with this string for an unknown id.
        if (!s) return reply(500, 'silence not found');
        if (this.stateOf(s) !== 'expired') this.expire(s);
        reply(200, undefined);
        return;
      }
      case 'POST /api/v2/alerts':
        this.postAlerts(body, reply);
        return;
      case 'GET /api/v2/alerts': {
        const now = this.now();
        const live = [...this.alerts.values()].filter((a) => Date.parse(a.endsAt) > now && matches(a.labels));
        reply(
          200,
          live.map((a) => ({
            ...a,
            fingerprint: fingerprint(a.labels),
            receivers: [{ name: 'null' }],
            updatedAt: new Date(now).toISOString(),
            status: { state: 'active', silencedBy: this.silencing(a.labels), inhibitedBy: [] },
          })),
        );
        return;
      }
      default:
        reply(404, { code: 404, message: `the sandbox does not serve ${method} ${url.pathname}` });
    }
  }

  private expire(s: AmSilence): void {
    const now = new Date(this.now()).toISOString();
    s.endsAt = now;
    s.updatedAt = now;
    if (Date.parse(s.startsAt) > this.now()) s.startsAt = now;
  }

  private silencing(labels: Record<string, string>): string[] {
    return [...this.silences.values()]
      .filter((s) => this.stateOf(s) === 'active')
      .filter((s) => s.matchers.every((m) => (labels[m.name] === m.value) === m.isEqual))
      .map((s) => s.id);
  }

  private postSilence(body: unknown, reply: (status: number, out: unknown) => void): void {
    const b = (body ?? {}) as Partial<Omit<AmSilence, 'matchers'>> & { matchers?: Partial<AmMatcher>[] };
    const matchers = Array.isArray(b.matchers) ? b.matchers : [];
    for (const [i, m] of matchers.entries()) {
      for (const field of ['name', 'value', 'isRegex'] as const) {
        if (m[field] === undefined) return reply(422, { code: 602, message: `matchers.${i}.${field} in body is required` });
      }
    }
    if (matchers.length === 0 || !b.startsAt || !b.endsAt || b.createdBy === undefined || b.comment === undefined) {
      return reply(422, { code: 602, message: 'matchers, startsAt, endsAt, createdBy and comment are required' });
    }
    const now = this.now();
    if (Date.parse(b.endsAt) < now) return reply(400, "Failed to create silence: end time can't be in the past");
    const full = matchers.map((m) => ({ isEqual: true, ...m }) as AmMatcher);
    const nowIso = new Date(now).toISOString();
    const old = b.id ? this.silences.get(b.id) : undefined;
    if (b.id && !old) return reply(404, 'silence not found');
    // Alertmanager updates in place only a live silence whose matchers and start are unchanged; otherwise the
    // old one is expired and a new id is made.
    if (old && this.stateOf(old) !== 'expired' && JSON.stringify(old.matchers) === JSON.stringify(full) &&
      Date.parse(old.startsAt) === Date.parse(b.startsAt)) {
      Object.assign(old, { endsAt: new Date(Date.parse(b.endsAt)).toISOString(), comment: b.comment, createdBy: b.createdBy, updatedAt: nowIso });
      return reply(200, { silenceID: old.id });
    }
    if (old && this.stateOf(old) !== 'expired') this.expire(old);
    const startsAt = Math.max(Date.parse(b.startsAt), now);
    const s: AmSilence = {
      id: randomUUID(),
      matchers: full,
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(Date.parse(b.endsAt)).toISOString(),
      createdBy: b.createdBy,
      comment: b.comment,
      updatedAt: nowIso,
    };
    this.silences.set(s.id, s);
    reply(200, { silenceID: s.id });
  }

  private postAlerts(body: unknown, reply: (status: number, out: unknown) => void): void {
    if (!Array.isArray(body)) return reply(400, { code: 400, message: 'body must be an array of alerts' });
    const now = this.now();
    for (const a of body as Partial<AmAlert>[]) {
      if (!a.labels || typeof a.labels !== 'object') return reply(422, { code: 602, message: 'labels in body is required' });
      const key = fingerprint(a.labels);
      const prev = this.alerts.get(key);
      const startsAt = a.startsAt ?? (prev && Date.parse(prev.endsAt) > now ? prev.startsAt : new Date(now).toISOString());
      const endsAt = a.endsAt ?? new Date(now + RESOLVE_TIMEOUT_MS).toISOString();
      this.alerts.set(key, { labels: a.labels, annotations: a.annotations ?? {}, startsAt, endsAt });
    }
    reply(200, undefined);
  }
}
