/**
 * Mackerel API client: the only module that speaks Mackerel's HTTP. Every answer is validated with the
 * zod schemas of `schemas.ts` before anyone sees it; transient failures (429, 5xx, network, timeout) are
 * retried within a per-call budget; other 4xx are not.
 *
 * The host list is the exception to "one request, one timeout": it can be hundreds of MB (no paging, full agent
 * meta), so it is streamed host by host (`host-stream.ts`) under a time-to-first-byte, an idle and an overall
 * deadline bound instead of the fixed per-request timeout.
 */
import type { z } from 'zod';
import type { Alert } from '../reconcile/model.js';
import type {
  AlertDesk,
  BulkOutcome,
  Failure,
  GraphAnnotationSink,
  HostDirectory,
  HostFilter,
  HostListing,
  LatestMetrics,
  LatestMetricsResult,
  ListHostsOptions,
} from '../reconcile/ports.js';
import { type RetryOptions, realSleep, withRetry } from '../retry.js';
import {
  HOST_LIST_PATH,
  HostListDeadlineError,
  MackerelApiError,
  MackerelConfigError,
  MackerelNetworkError,
  MackerelResponseError,
  type ResponseIssue,
} from './errors.js';
import { type HostList, readHost } from './host-read.js';
import { readHostStream } from './host-stream.js';
import { projectHost } from './project.js';
import {
  AlertsResponse,
  ALL_LIVE_STATUSES,
  CheckReport,
  ErrorBody,
  GraphAnnotation,
  GraphAnnotationResponse,
  type Host,
  HostResponse,
  HostStatus,
  SuccessResponse,
  TsdbLatestEntry,
  TsdbLatestResponse,
} from './schemas.js';

export interface MackerelClientOptions {
  apiKey: string;
  /** e.g. https://api.mackerelio.com */
  apiBase: string;
  /** per request, default 10000; not for the host list (see hostListTtfbMs, hostListIdleMs) */
  timeoutMs?: number;
  /** host list: time to the response headers, default 30000 */
  hostListTtfbMs?: number;
  /** host list: longest pause between two chunks of the body, default 15000 */
  hostListIdleMs?: number;
  /** default 5 */
  maxAttempts?: number;
  /** default 200 */
  baseDelayMs?: number;
  /** default 5000 */
  maxDelayMs?: number;
  /** total retry budget per call, default 30000 */
  budgetMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (info: {
    method: string;
    path: string;
    attempt: number;
    status?: number;
    delayMs: number;
  }) => void;
}

export interface ClientStats {
  requests: number;
  retries: number;
  /** e.g. `GET /api/v0/hosts` → n; ids normalised to `:id` */
  byEndpoint: Record<string, number>;
}

export type { HostFilter, HostListing, LatestMetrics, LatestMetricsResult, ListHostsOptions };

/** `done` is `retired`, `alreadyRetired` and `notFound` together: each settles its host for good. */
export interface RetireResult extends BulkOutcome {
  retired: string[];
  alreadyRetired: string[];
  notFound: string[];
}

/** Documented limits of the bulk endpoints. */
export const BULK_RETIRE_LIMIT = 30;
export const BULK_STATUS_LIMIT = 30;
export const TSDB_LATEST_HOST_LIMIT = 100;
export const CHECK_REPORT_LIMIT = 100;
/** A re-read after a bulk-retire 404 settles the batch; a second 404 means hosts change under us. */
const RETIRE_REREAD_ROUNDS = 3;
/**
 * A failed attempt that ended early (a 503 in 5 ms) says little about how long a whole list takes: a retry
 * before a deadline is estimated to need at least this, or as long as the last list that was read whole.
 */
const MIN_HOST_LIST_ATTEMPT_MS = 1_000;
/** `GET /api/v0/alerts` answers at most 100 a page */
export const ALERTS_PAGE_LIMIT = 100;
/** a close reason is a short note; a long one is cut */
const ALERT_REASON_LIMIT = 1000;

interface Request<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** `path` with ids replaced by `:id`, for stats */
  route: string;
  query?: [string, string][];
  body?: unknown;
  schema: S;
}

export class MackerelClient implements HostDirectory, GraphAnnotationSink, AlertDesk {
  readonly stats: ClientStats = { requests: 0, retries: 0, byEndpoint: {} };

  readonly #apiKey: string;
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #hostListTtfbMs: number;
  readonly #hostListIdleMs: number;
  /** how long the last whole host list took to read: the estimate of the next one (a container is reused) */
  #lastHostListMs = 0;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #budgetMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #onRetry: MackerelClientOptions['onRetry'];

  constructor(opts: MackerelClientOptions) {
    if (typeof opts.apiKey !== 'string' || opts.apiKey.trim() === '') {
      throw new MackerelConfigError('Mackerel API key is empty');
    }
    // fetch would reject such a header with a message that quotes the key itself.
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\u0000-\u001f\u007f]/.test(opts.apiKey) || /[^\u0000-\u00ff]/.test(opts.apiKey)) {
      throw new MackerelConfigError('Mackerel API key contains characters not allowed in an HTTP header');
    }
    this.#apiKey = opts.apiKey.trim();
    this.#base = checkApiBase(opts.apiBase);
    this.#timeoutMs = positive(opts.timeoutMs, 10_000, 'timeoutMs');
    this.#hostListTtfbMs = positive(opts.hostListTtfbMs, 30_000, 'hostListTtfbMs');
    this.#hostListIdleMs = positive(opts.hostListIdleMs, 15_000, 'hostListIdleMs');
    this.#maxAttempts = positive(opts.maxAttempts, 5, 'maxAttempts');
    this.#baseDelayMs = positive(opts.baseDelayMs, 200, 'baseDelayMs');
    this.#maxDelayMs = positive(opts.maxDelayMs, 5_000, 'maxDelayMs');
    this.#budgetMs = positive(opts.budgetMs, 30_000, 'budgetMs');
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#sleep = opts.sleep ?? realSleep;
    this.#random = opts.random ?? Math.random;
    this.#onRetry = opts.onRetry;
  }

  /**
   * Every host in one of `statuses`; retired hosts are never listed. The API has no paging: the list is read as
   * a stream and each host is cut down (`projectHost`) and read on its own as it arrives. A host of the wrong
   * shape is set aside in `unreadable`; only a wrong envelope fails the call.
   */
  async listHosts(
    statuses: readonly HostStatus[] = ALL_LIVE_STATUSES,
    opts: ListHostsOptions = {},
  ): Promise<HostListing> {
    return this.findHosts({}, statuses, opts);
  }

  /** The hosts matching a filter, in all four live statuses unless told otherwise; streamed like `listHosts`. */
  async findHosts(
    filter: HostFilter,
    statuses: readonly HostStatus[] = ALL_LIVE_STATUSES,
    opts: ListHostsOptions = {},
  ): Promise<HostListing> {
    const started = Date.now();
    const wanted = unique(statuses.map((s) => HostStatus.parse(s)));
    // The API defaults an absent status to working+standby: an empty list must not become that.
    if (wanted.length === 0) return { hosts: [], unreadable: [], bytes: 0, durationMs: 0 };
    const query: [string, string][] = wanted.map((s) => ['status', s]);
    for (const key of ['customIdentifier', 'name'] as const) {
      const value = filter[key];
      if (value === undefined) continue;
      requireId(value, key);
      query.push([key, value]);
    }
    const url = `${this.#base}${HOST_LIST_PATH}?${new URLSearchParams(query).toString()}`;
    // Only a whole list tells how long the next whole list takes; a filtered look-up is a few hosts.
    const whole = query.length === wanted.length;
    const read = await withRetry(
      () => this.#readHostList(url, opts.deadline, whole),
      this.#hostListRetry(opts.deadline),
    );
    return { ...read, durationMs: Date.now() - started };
  }

  /** One host by id, retired ones included; `undefined` when Mackerel does not know it. */
  async getHost(id: string): Promise<Host | undefined> {
    const read = await this.lookupHost(id);
    if (read.unreadable[0]) {
      const u = read.unreadable[0];
      throw new MackerelResponseError('GET', `/api/v0/hosts/${id}`, [{ path: u.field, message: u.problem }]);
    }
    return read.hosts[0];
  }

  /** One host by id as a list of zero or one, an unreadable host set aside as in `listHosts`. */
  async lookupHost(id: string): Promise<HostList> {
    requireId(id, 'host id');
    const res = await this.#orUndefinedOn404(() =>
      this.#request({
        method: 'GET',
        path: `/api/v0/hosts/${encodeURIComponent(id)}`,
        route: '/api/v0/hosts/:id',
        schema: HostResponse,
      }),
    );
    if (res === undefined) return { hosts: [], unreadable: [] };
    const read = readHost(res.host, 'host');
    return read.ok ? { hosts: [read.host], unreadable: [] } : { hosts: [], unreadable: [read.unreadable] };
  }

  async getHostByCustomIdentifier(customIdentifier: string): Promise<Host | undefined> {
    requireId(customIdentifier, 'customIdentifier');
    return this.#orUndefinedOn404(async () => {
      const res = await this.#request({
        method: 'GET',
        path: `/api/v0/hosts-by-custom-identifier/${encodeURIComponent(customIdentifier)}`,
        route: '/api/v0/hosts-by-custom-identifier/:id',
        schema: HostResponse,
      });
      // mackerel-client-rs reads a 200 `{"host": null}` as "no such host"; so do we.
      if (res.host === null) return undefined;
      const read = readHost(res.host, 'host');
      if (!read.ok) {
        const u = read.unreadable;
        throw new MackerelResponseError('GET', '/api/v0/hosts-by-custom-identifier', [
          { path: u.field, message: u.problem },
        ]);
      }
      return read.host;
    });
  }

  /** Retires hosts, ≤ 30 per call; a batch that fails fails only its own ids. */
  async retireHosts(ids: readonly string[]): Promise<RetireResult> {
    const result: RetireResult = { retired: [], alreadyRetired: [], notFound: [], done: [], failed: [] };
    const all = unique(ids);
    for (const id of all) requireId(id, 'host id');
    await eachBatch(all, BULK_RETIRE_LIMIT, result, async (batch) => {
      const settled = await this.#retireBatch(batch);
      result.retired.push(...settled.retired);
      result.alreadyRetired.push(...settled.alreadyRetired);
      result.notFound.push(...settled.notFound);
    });
    return result;
  }

  /**
   * One batch of ≤ 30. bulk-retire is atomic and answers 404 for the whole batch when any id is unknown or
   * already retired, so on 404 each id is re-read and only the live ones are sent again.
   */
  async #retireBatch(batch: readonly string[]): Promise<Omit<RetireResult, 'done' | 'failed'>> {
    const out = { retired: [] as string[], alreadyRetired: [] as string[], notFound: [] as string[] };
    let pending = batch;
    for (let round = 0; pending.length > 0; round++) {
      try {
        await this.#bulkRetire(pending);
        out.retired.push(...pending);
        pending = [];
      } catch (err) {
        if (!(err instanceof MackerelApiError && err.status === 404) || round >= RETIRE_REREAD_ROUNDS) throw err;
        const live: string[] = [];
        for (const id of pending) {
          const host = await this.getHost(id);
          if (host === undefined) out.notFound.push(id);
          else if (host.isRetired) out.alreadyRetired.push(id);
          else live.push(id);
        }
        pending = live;
      }
    }
    return out;
  }

  /** Sets the status of hosts, ≤ 30 per call; a batch that fails fails only its own ids. */
  async updateHostStatuses(ids: readonly string[], status: HostStatus): Promise<BulkOutcome> {
    const wanted = HostStatus.parse(status);
    const all = unique(ids);
    for (const id of all) requireId(id, 'host id');
    const result: BulkOutcome = { done: [], failed: [] };
    await eachBatch(all, BULK_STATUS_LIMIT, result, async (batch) => {
      await this.#request({
        method: 'POST',
        path: '/api/v0/hosts/bulk-update-statuses',
        route: '/api/v0/hosts/bulk-update-statuses',
        body: { ids: batch, status: wanted },
        schema: SuccessResponse,
      });
    });
    return result;
  }

  /**
   * Every open alert, newest first: pages of 100 followed by `nextId` until the API gives none (a repeated
   * `nextId` ends the walk rather than loop).
   */
  async listOpenAlerts(): Promise<Alert[]> {
    const out: Alert[] = [];
    const seen = new Set<string>();
    let nextId: string | undefined;
    do {
      const query: [string, string][] = [['limit', String(ALERTS_PAGE_LIMIT)]];
      if (nextId !== undefined) query.push(['nextId', nextId]);
      const page = await this.#request({
        method: 'GET',
        path: '/api/v0/alerts',
        route: '/api/v0/alerts',
        query,
        schema: AlertsResponse,
      });
      for (const a of page.alerts) {
        out.push({
          id: a.id,
          status: a.status,
          type: a.type,
          ...(a.hostId !== undefined ? { hostId: a.hostId } : {}),
          ...(a.monitorId !== undefined ? { monitorId: a.monitorId } : {}),
          ...(a.openedAt !== undefined ? { openedAt: a.openedAt } : {}),
        });
      }
      if (page.nextId !== undefined && seen.has(page.nextId)) break;
      nextId = page.nextId;
      if (nextId !== undefined) seen.add(nextId);
    } while (nextId !== undefined);
    return out;
  }

  /** Closes one alert with a reason (Mackerel keeps it in the alert's history). */
  async closeAlert(alertId: string, reason: string): Promise<void> {
    requireId(alertId, 'alert id');
    await this.#request({
      method: 'POST',
      path: `/api/v0/alerts/${encodeURIComponent(alertId)}/close`,
      route: '/api/v0/alerts/:id/close',
      body: { reason: reason.slice(0, ALERT_REASON_LIMIT) },
      schema: SuccessResponse,
    });
  }

  /** Replaces the host's roles; `roleFullnames` are `Service:role`. */
  async updateRoleFullnames(hostId: string, roleFullnames: readonly string[]): Promise<void> {
    requireId(hostId, 'host id');
    for (const name of roleFullnames) {
      if (!/^[^:]+:[^:]+$/.test(name)) {
        throw new TypeError(`role fullname ${JSON.stringify(name)} is not of the form Service:role`);
      }
    }
    await this.#request({
      method: 'PUT',
      path: `/api/v0/hosts/${encodeURIComponent(hostId)}/role-fullnames`,
      route: '/api/v0/hosts/:id/role-fullnames',
      body: { roleFullnames: unique(roleFullnames) },
      schema: SuccessResponse,
    });
  }

  /**
   * Latest value of each metric of each host, ≤ 100 hosts per call. Hosts or metrics without data are absent;
   * a host whose entry has the wrong shape is set aside in `unreadable` (its silence is unknown, not proven).
   */
  async latestMetrics(hostIds: readonly string[], names: readonly string[]): Promise<LatestMetricsResult> {
    const out: LatestMetricsResult = { latest: {}, unreadable: [] };
    const hosts = unique(hostIds);
    const metrics = unique(names);
    for (const id of hosts) requireId(id, 'host id');
    for (const n of metrics) requireId(n, 'metric name');
    if (metrics.length === 0) return out;
    for (const batch of chunk(hosts, TSDB_LATEST_HOST_LIMIT)) {
      const res = await this.#request({
        method: 'GET',
        path: '/api/v0/tsdb/latest',
        route: '/api/v0/tsdb/latest',
        query: [
          ...batch.map((id): [string, string] => ['hostId', id]),
          ...metrics.map((n): [string, string] => ['name', n]),
        ],
        schema: TsdbLatestResponse,
      });
      for (const [hostId, raw] of Object.entries(res.tsdbLatest)) {
        const entry = TsdbLatestEntry.safeParse(raw);
        if (!entry.success) {
          const issue = entry.error.issues[0];
          const sub = issue?.path.map(String).join('.');
          const field = `tsdbLatest.${hostId}${sub ? `.${sub}` : ''}`;
          out.unreadable.push({ id: hostId, field, problem: issue?.message ?? 'invalid entry' });
          continue;
        }
        for (const [name, point] of Object.entries(entry.data)) {
          if (point === null) continue;
          out.latest[hostId] ??= {};
          out.latest[hostId][name] = { time: point.time, value: point.value };
        }
      }
    }
    return out;
  }

  /**
   * Posts check monitoring reports, ≤ 100 per call; a batch that fails fails only its own reports (the
   * outcome names the objects given). Reports are validated before anything is sent.
   */
  async postCheckReports(reports: readonly CheckReport[]): Promise<BulkOutcome<CheckReport>> {
    const valid = new Map(
      reports.map((r, i) => {
        const parsed = CheckReport.safeParse(r);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const where = ['reports', i, ...(issue?.path ?? [])].map(String).join('.');
          throw new TypeError(`invalid check report at ${where}: ${issue?.message ?? 'invalid'}`);
        }
        return [r, parsed.data];
      }),
    );
    const result: BulkOutcome<CheckReport> = { done: [], failed: [] };
    await eachBatch([...valid.keys()], CHECK_REPORT_LIMIT, result, async (batch) => {
      await this.#request({
        method: 'POST',
        path: '/api/v0/monitoring/checks/report',
        route: '/api/v0/monitoring/checks/report',
        body: { reports: batch.map((r) => valid.get(r)) },
        schema: SuccessResponse,
      });
    });
    return result;
  }

  /** One graph annotation on a service's graphs; a body outside Mackerel's limits is refused before sending. */
  async postGraphAnnotation(annotation: GraphAnnotation): Promise<{ id: string }> {
    const parsed = GraphAnnotation.safeParse(annotation);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = ['annotation', ...(issue?.path ?? [])].map(String).join('.');
      throw new TypeError(`invalid graph annotation at ${where}: ${issue?.message ?? 'invalid'}`);
    }
    const created = await this.#request({
      method: 'POST',
      path: '/api/v0/graph-annotations',
      route: '/api/v0/graph-annotations',
      body: parsed.data,
      schema: GraphAnnotationResponse,
    });
    return { id: created.id };
  }

  async #bulkRetire(ids: readonly string[]): Promise<void> {
    await this.#request({
      method: 'POST',
      path: '/api/v0/hosts/bulk-retire',
      route: '/api/v0/hosts/bulk-retire',
      body: { ids },
      schema: SuccessResponse,
    });
  }

  async #orUndefinedOn404<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MackerelApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async #request<S extends z.ZodType>(req: Request<S>): Promise<z.output<S>> {
    const { method, path } = req;
    const query = req.query?.length ? `?${new URLSearchParams(req.query).toString()}` : '';
    const url = `${this.#base}${path}${query}`;
    const endpoint = `${method} ${req.route}`;
    const headers = this.#headers();
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(req.body);
    }

    const text = await withRetry(async () => {
      this.#counted(endpoint);
      return this.#send(url, method, path, headers, body);
    }, this.#retryOptions(method, path));

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MackerelResponseError(method, path, [{ path: '', message: 'body is not JSON' }]);
    }
    const parsed = req.schema.safeParse(json);
    if (!parsed.success) {
      throw new MackerelResponseError(method, path, parsed.error.issues.map(toIssue));
    }
    return parsed.data;
  }

  #counted(endpoint: string): void {
    this.stats.requests++;
    this.stats.byEndpoint[endpoint] = (this.stats.byEndpoint[endpoint] ?? 0) + 1;
  }

  #headers(): Record<string, string> {
    return { 'X-Api-Key': this.#apiKey, Accept: 'application/json' };
  }

  #retryOptions(method: string, path: string): RetryOptions {
    return {
      maxAttempts: this.#maxAttempts,
      baseDelayMs: this.#baseDelayMs,
      maxDelayMs: this.#maxDelayMs,
      budgetMs: this.#budgetMs,
      sleep: this.#sleep,
      random: this.#random,
      isRetryable,
      retryAfterMs: (err) => (err instanceof MackerelApiError ? err.retryAfterMs : undefined),
      onRetry: ({ attempt, delayMs, error }) => {
        this.stats.retries++;
        const status = error instanceof MackerelApiError ? error.status : undefined;
        this.#onRetry?.({ method, path, attempt, delayMs, ...(status === undefined ? {} : { status }) });
      },
    };
  }

  /**
   * Without a deadline the host list retries like any call (attempts and the budget). With one, the deadline is
   * the budget, and a retry starts only if the wait and a whole attempt fit before it.
   */
  #hostListRetry(deadline: number | undefined): RetryOptions {
    const base = this.#retryOptions('GET', HOST_LIST_PATH);
    if (deadline === undefined) return base;
    return {
      ...base,
      budgetMs: Number.POSITIVE_INFINITY,
      canRetry: ({ delayMs, lastAttemptMs }) => {
        const attemptMs = Math.max(MIN_HOST_LIST_ATTEMPT_MS, lastAttemptMs, this.#lastHostListMs);
        return Date.now() + delayMs + attemptMs <= deadline;
      },
    };
  }

  /** One attempt at the host list: streamed, each host cut down and read on its own as it arrives. */
  async #readHostList(
    url: string,
    deadline: number | undefined,
    whole: boolean,
  ): Promise<Omit<HostListing, 'durationMs'>> {
    this.#counted(`GET ${HOST_LIST_PATH}`);
    const started = Date.now();
    const list: HostList = { hosts: [], unreadable: [] };
    const onHost = (raw: unknown, index: number) => {
      const read = readHost(projectHost(raw), `hosts.${index}`);
      if (read.ok) list.hosts.push(read.host);
      else list.unreadable.push(read.unreadable);
    };
    const open = (signal: AbortSignal) =>
      this.#fetch(url, { method: 'GET', headers: this.#headers(), signal }).catch((err: unknown) => {
        throw new MackerelNetworkError('GET', HOST_LIST_PATH, this.#redact(describeNetworkError(err)), false);
      });
    const bounds = { ttfbMs: this.#hostListTtfbMs, idleMs: this.#hostListIdleMs, deadline };
    const read = await readHostStream(open, onHost, bounds);
    if (!read.ok) {
      const { status, statusText, text, retryAfter } = read;
      throw this.#apiError('GET', HOST_LIST_PATH, status, statusText, text, retryAfter);
    }
    if (whole) this.#lastHostListMs = Date.now() - started;
    return { ...list, bytes: read.bytes };
  }

  #apiError(
    method: string,
    path: string,
    status: number,
    statusText: string,
    text: string,
    retryAfter: string | null,
  ): MackerelApiError {
    const message = this.#redact(apiMessage(text, statusText, status));
    return new MackerelApiError(method, path, status, message, parseRetryAfter(retryAfter));
  }

  /** One HTTP exchange: resolves with the body of a 2xx, throws a typed error otherwise. */
  async #send(
    url: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<string> {
    // One signal for the whole exchange: a server that sends headers and then stalls times out too.
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let status: number;
    let statusText: string;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.#fetch(url, { method, headers, body, signal });
      status = res.status;
      statusText = res.statusText;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const timedOut = signal.aborted || (err instanceof Error && err.name === 'TimeoutError');
      const reason = timedOut ? `no answer within ${this.#timeoutMs} ms` : describeNetworkError(err);
      throw new MackerelNetworkError(method, path, this.#redact(reason), timedOut);
    }
    if (status >= 200 && status < 300) return text;
    throw this.#apiError(method, path, status, statusText, text, retryAfter);
  }

  /** Belt and braces: nothing the server or the network says is allowed to echo the key back. */
  #redact(s: string): string {
    return s.split(this.#apiKey).join('***');
  }
}

function isRetryable(err: unknown): boolean {
  // Past the run's deadline there is no time for another attempt.
  if (err instanceof HostListDeadlineError) return false;
  if (err instanceof MackerelNetworkError) return true;
  if (err instanceof MackerelApiError) return err.status === 429 || err.status >= 500;
  return false;
}

function apiMessage(text: string, statusText: string, status: number): string {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data.error.message;
  } catch {
    // not JSON: fall through to the status text
  }
  return statusText || `HTTP ${status}`;
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String(cause.code) : undefined;
  return code ? `${err.message} (${code})` : err.message;
}

function toIssue(issue: z.core.$ZodIssue): ResponseIssue {
  return { path: issue.path.map(String).join('.'), message: issue.message };
}


const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** https everywhere, except plain http to this machine (a sandbox or an SSH tunnel). */
function checkApiBase(apiBase: string): string {
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw new MackerelConfigError(`Mackerel API base ${JSON.stringify(apiBase)} is not a URL`);
  }
  if (url.username || url.password) {
    throw new MackerelConfigError('Mackerel API base must not carry credentials');
  }
  if (url.search || url.hash) {
    throw new MackerelConfigError('Mackerel API base must not carry a query or fragment');
  }
  const host = url.hostname.toLowerCase();
  const loopback = LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new MackerelConfigError(
      `Mackerel API base ${url.origin} must use https (plain http is allowed only to a loopback address)`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new MackerelConfigError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

function requireId(value: string, what: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Sends `items` in batches of `size`, one after another, settling each batch's items in `into`. */
async function eachBatch<T>(
  items: readonly T[],
  size: number,
  into: BulkOutcome<T>,
  send: (batch: readonly T[]) => Promise<void>,
): Promise<void> {
  for (const batch of chunk(items, size)) {
    try {
      await send(batch);
      into.done.push(...batch);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      into.failed.push(...batch.map((id): Failure<T> => ({ id, error })));
    }
  }
}
