/**
 * `SilenceBackend` over Alertmanager's HTTP API v2 (docs/alertmanager.md has what 0.25 was seen to do).
 *
 * - Silences are found again by `createdBy: mackerel-reconciler` and one equality matcher on the instance label;
 *   the listing's `filter` matches silence matchers literally (not `createdBy`), so the rest is filtered here.
 * - An update keeps a silence's id only when its matchers and startsAt are sent unchanged: the rules send them.
 * - DELETE of an unknown silence answers 500 "silence not found" (0.25): counted as done, like an expired one.
 * - No bulk silence call: one request per silence, a few at a time; alerts go in one POST.
 * - 429, 5xx and network failures are retried with jittered backoff under a per-call budget.
 * - `localhost` may resolve to ::1 or 127.0.0.1 while the server listens on one: each address is tried in turn.
 */
import { lookup } from 'node:dns/promises';
import type { z } from 'zod';
import type { BulkOutcome, Counted, SilenceBackend } from '../reconcile/ports.js';
import { type AlertmanagerView, type AlertSpec, SILENCE_CREATOR, type Silence, type SilenceSpec } from '../reconcile/silences.js';
import { withRetry, type RetryInfo } from '../retry.js';
import { mapLimit } from '../util/concurrency.js';
import { AlertmanagerApiError, AlertmanagerConfigError, AlertmanagerNetworkError, AlertmanagerResponseError } from './errors.js';
import { GettableAlerts, type GettableSilence, GettableSilences, PostSilenceResponse } from './schemas.js';

export interface AlertmanagerOptions {
  /** e.g. https://alertmanager.example.com (a path prefix is kept) */
  url: string;
  /** `Bearer <token>` or `user:password` (sent as Basic); never logged */
  auth?: string;
  /** the label Prometheus's relabelling puts the instance id in */
  instanceLabel: string;
  onRetry?: (info: { method: string; path: string; attempt: number; delayMs: number; error: string }) => void;
  timeoutMs?: number;
  retryBudgetMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The label marking alerts this service posted, so that it resolves only its own. */
export const MANAGED_BY_LABEL = 'managed_by';
const CONCURRENCY = 8;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

export class AlertmanagerClient implements SilenceBackend, Counted {
  readonly stats = { retries: 0 };
  readonly #url: URL;
  readonly #auth?: string;
  readonly #label: string;
  readonly #opts: AlertmanagerOptions;
  #origins?: Promise<string[]>;

  constructor(opts: AlertmanagerOptions) {
    this.#url = checkUrl(opts.url);
    this.#auth = opts.auth === undefined ? undefined : authorization(opts.auth);
    if (!LABEL.test(opts.instanceLabel)) {
      throw new AlertmanagerConfigError(`ALERTMANAGER_INSTANCE_LABEL ${JSON.stringify(opts.instanceLabel.slice(0, 64))} is not a label name`);
    }
    this.#label = opts.instanceLabel;
    this.#opts = opts;
  }

  async view(instanceIds?: readonly string[]): Promise<AlertmanagerView> {
    // The listing's filter matches silence matchers literally (0.25: a regex filter finds only regex matchers),
    // so only one instance can be asked for; more are filtered here from the whole list.
    const one = instanceIds?.length === 1 && /^[\w.-]+$/.test(instanceIds[0] ?? '') ? instanceIds[0] : undefined;
    const silences = await this.#get('/api/v2/silences', { filter: one ? [`${this.#label}="${one}"`] : [] }, GettableSilences);
    const alerts = await this.#get(
      '/api/v2/alerts',
      { filter: [`alertname="ImdsDisabled"`, `${MANAGED_BY_LABEL}="${SILENCE_CREATOR}"`, ...(one ? [`${this.#label}="${one}"`] : [])] },
      GettableAlerts,
    );
    const wanted = instanceIds ? new Set(instanceIds) : undefined;
    // Resolved alerts are not listed (0.25): every one listed still fires, silenced or not.
    const imdsAlerts = alerts
      .flatMap((a) => a.labels[this.#label] ?? [])
      .filter((id) => !wanted || wanted.has(id));
    return {
      silences: silences.flatMap((s) => this.#ours(s) ?? []).filter((s) => !wanted || wanted.has(s.instanceId)),
      imdsAlerts: [...new Set(imdsAlerts)],
    };
  }

  /** One of ours: made by this service, live, and matching exactly one instance by equality. */
  #ours(s: GettableSilence): Silence | undefined {
    if (s.createdBy !== SILENCE_CREATOR || s.status.state === 'expired' || s.matchers.length !== 1) return undefined;
    const [m] = s.matchers;
    if (!m || m.name !== this.#label || m.isRegex || m.isEqual === false) return undefined;
    return { id: s.id, instanceId: m.value, startsAt: Date.parse(s.startsAt), endsAt: Date.parse(s.endsAt), comment: s.comment };
  }

  async putSilences(specs: readonly SilenceSpec[]): Promise<BulkOutcome> {
    return settleEach(specs, (s) => s.instanceId, async (s) => {
      const body = {
        ...(s.existing ? { id: s.existing.id } : {}),
        matchers: [{ name: this.#label, value: s.instanceId, isEqual: true, isRegex: false }],
        startsAt: new Date(s.existing?.startsAt ?? Date.now()).toISOString(),
        endsAt: new Date(s.endsAt).toISOString(),
        createdBy: SILENCE_CREATOR,
        comment: s.comment,
      };
      await this.#send('POST', '/api/v2/silences', body, PostSilenceResponse);
    });
  }

  async expireSilences(ids: readonly string[]): Promise<BulkOutcome> {
    return settleEach(ids, (id) => id, async (id) => {
      try {
        await this.#send('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`);
      } catch (e) {
        // 0.25 answers 500 "silence not found" (and a fake may answer 404) for an id it does not know: nothing to expire.
        if (e instanceof AlertmanagerApiError && (e.status === 404 || /silence not found/i.test(e.apiMessage))) return;
        throw e;
      }
    });
  }

  async postAlerts(alerts: readonly AlertSpec[]): Promise<BulkOutcome> {
    if (alerts.length === 0) return { done: [], failed: [] };
    const body = alerts.map((a) => ({
      labels: { alertname: a.alertname, [this.#label]: a.instanceId, [MANAGED_BY_LABEL]: SILENCE_CREATOR, severity: 'warning' },
      annotations: { summary: a.summary },
      endsAt: new Date(a.endsAt).toISOString(),
    }));
    try {
      await this.#send('POST', '/api/v2/alerts', body);
      return { done: alerts.map((a) => a.instanceId), failed: [] };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      return { done: [], failed: alerts.map((a) => ({ id: a.instanceId, error })) };
    }
  }

  #get<S extends z.ZodType>(path: string, query: Record<string, string[]>, schema: S): Promise<z.infer<S>> {
    const qs = new URLSearchParams(Object.entries(query).flatMap(([k, vs]) => vs.map((v) => [k, v])));
    return this.#send('GET', `${path}?${qs.toString()}`, undefined, schema) as Promise<z.infer<S>>;
  }

  async #send(method: string, path: string, body?: unknown, schema?: z.ZodType): Promise<unknown> {
    const shownPath = path.split('?')[0] ?? path;
    return withRetry(() => this.#once(method, path, shownPath, body, schema), {
      maxAttempts: 4,
      baseDelayMs: 200,
      maxDelayMs: 2_000,
      budgetMs: this.#opts.retryBudgetMs ?? 15_000,
      isRetryable: (e) =>
        e instanceof AlertmanagerNetworkError ||
        (e instanceof AlertmanagerApiError && (e.status === 429 || (e.status >= 500 && !/silence not found/i.test(e.apiMessage)))),
      onRetry: (info: RetryInfo) => {
        this.stats.retries++;
        this.#opts.onRetry?.({ method, path: shownPath, attempt: info.attempt, delayMs: info.delayMs, error: String(info.error) });
      },
      ...(this.#opts.sleep ? { sleep: this.#opts.sleep } : {}),
    });
  }

  async #once(method: string, path: string, shownPath: string, body: unknown, schema?: z.ZodType): Promise<unknown> {
    const res = await this.#fetch(method, path, shownPath, body);
    const text = await res.text();
    if (!res.ok) throw new AlertmanagerApiError(method, shownPath, res.status, apiMessage(text, res.statusText));
    if (!schema) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AlertmanagerResponseError(method, shownPath, '', 'not JSON');
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new AlertmanagerResponseError(method, shownPath, issue?.path.map(String).join('.') ?? '', issue?.message ?? 'invalid');
  }

  /** One request, to each address of `localhost` in turn when the first refuses the connection. */
  async #fetch(method: string, path: string, shownPath: string, body: unknown): Promise<Response> {
    const origins = await this.#originsOf();
    let last: unknown;
    for (const origin of origins) {
      try {
        const res = await fetch(`${origin}${this.#url.pathname.replace(/\/+$/, '')}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(this.#auth ? { authorization: this.#auth } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 10_000),
        });
        // The address that answered goes first next time.
        if (origin !== origins[0]) this.#origins = Promise.resolve([origin, ...origins.filter((o) => o !== origin)]);
        return res;
      } catch (e) {
        last = e;
      }
    }
    const cause = (last as { cause?: { code?: string } })?.cause?.code;
    throw new AlertmanagerNetworkError(method, shownPath, `${(last as Error)?.message ?? 'failed'}${cause ? ` (${cause})` : ''}`);
  }

  #originsOf(): Promise<string[]> {
    this.#origins ??= (async () => {
      if (this.#url.hostname !== 'localhost') return [this.#url.origin];
      const port = this.#url.port ? `:${this.#url.port}` : '';
      const found = await lookup('localhost', { all: true }).catch(() => []);
      const addrs = found.map((a) => (a.family === 6 ? `[${a.address}]` : a.address));
      const all = [...new Set([...addrs, '127.0.0.1', '[::1]'])];
      return all.map((a) => `${this.#url.protocol}//${a}${port}`);
    })();
    return this.#origins;
  }
}

/** One request per item, a few at a time; outcomes by key. */
async function settleEach<T>(items: readonly T[], keyOf: (t: T) => string, fn: (t: T) => Promise<void>): Promise<BulkOutcome> {
  const out: BulkOutcome = { done: [], failed: [] };
  await mapLimit(items, CONCURRENCY, async (item) => {
    try {
      await fn(item);
      out.done.push(keyOf(item));
    } catch (e) {
      out.failed.push({ id: keyOf(item), error: e instanceof Error ? e : new Error(String(e)) });
    }
  });
  return out;
}

/** Alertmanager's errors are a JSON string, `{code, message}`, or plain text. */
function apiMessage(text: string, fallback: string): string {
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j === 'string') return j.slice(0, 300);
    if (j && typeof j === 'object' && typeof (j as { message?: unknown }).message === 'string') {
      return (j as { message: string }).message.slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300) || fallback;
}

/** `Bearer <token>` as it is; `user:password` as Basic. */
export function authorization(auth: string): string {
  const v = auth.trim();
  if (/^bearer\s+\S+/i.test(v)) return `Bearer ${v.replace(/^bearer\s+/i, '')}`;
  if (v.includes(':')) return `Basic ${Buffer.from(v).toString('base64')}`;
  throw new AlertmanagerConfigError('the Alertmanager credential must be "Bearer <token>" or "user:password"');
}

/** https everywhere, except plain http to this machine (a sandbox or an SSH tunnel), as for Mackerel. */
export function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AlertmanagerConfigError(`ALERTMANAGER_URL ${JSON.stringify(raw.slice(0, 200))} is not a URL`);
  }
  if (url.username || url.password) throw new AlertmanagerConfigError('ALERTMANAGER_URL must not carry credentials');
  if (url.search || url.hash) throw new AlertmanagerConfigError('ALERTMANAGER_URL must not carry a query or fragment');
  const loopback = LOOPBACK.test(url.hostname.toLowerCase());
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new AlertmanagerConfigError(
      `ALERTMANAGER_URL ${url.origin} must use https (plain http is allowed only to a loopback address)`,
    );
  }
  return url;
}
