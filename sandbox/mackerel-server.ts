// A fake Mackerel API (https://mackerel.io/api-docs/) over real HTTP, faithful to the quirks the reconciler relies on:
// the host list defaults to working+standby, retired hosts are hidden from the list but readable by id, the bulk
// endpoints cap at 30 ids and fail atomically, and errors are always `{"error":{"message":…}}`.
// Sandbox-only limit: `GET /api/v0/tsdb/latest` accepts at most 100 hostIds (the real API has a URL-length limit).
// The host list is written as a real server writes a large body: in chunks, host by host, waiting for the socket to
// drain; `hostList` can make it slow but steady, or make it stall part-way.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { annotationsBetween, checkGraphAnnotation, type FakeGraphAnnotation } from './graph-annotations.js';
import { agentHostMeta, seedOf } from './host-meta.js';
import { closed, FakeServer, FaultBudget, readBody, rechunk, sleep, writeChunk } from './http.js';
import { BASE62, randomChars } from './random.js';

export type HostStatus = 'working' | 'standby' | 'maintenance' | 'poweroff';

export interface FakeHost {
  id: string;
  name: string;
  displayName?: string;
  customIdentifier?: string;
  status: HostStatus;
  memo: string;
  roles: Record<string, string[]>;
  isRetired: boolean;
  /** epoch seconds */
  createdAt: number;
  /** epoch seconds; set when retired, never served */
  retiredAt?: number;
  meta: {
    'agent-version'?: string;
    cloud?: { provider: string; metadata: Record<string, unknown> };
  } & Record<string, unknown>;
  interfaces: { name: string; ipAddress?: string; ipv4Addresses?: string[] }[];
  size: 'standard';
}

export interface CallLogEntry {
  method: string;
  path: string;
  query: Record<string, string[]>;
  /** parsed JSON, the raw text when it was not JSON, undefined when empty */
  body: unknown;
  status: number;
  /** epoch ms when the request arrived */
  at: number;
  /** the answer was an injected fault: the request never reached the API */
  fault?: true;
  /** body bytes sent so far (a streamed host list updates it as it goes) */
  bytes?: number;
}

/** How the host list is written: test hooks for a slow or stalling server. */
export interface HostListPacing {
  /** bytes per write, default 64 KiB */
  chunkBytes?: number;
  /** wait between two writes (default 0: as fast as the client reads) */
  chunkIntervalMs?: number;
  /** stop sending after this many body bytes and hold the connection open until the client gives up */
  stallAfterBytes?: number;
  /** how many host lists stall (default every one); counts down */
  stalls?: number;
}

export const HOST_LIST_CHUNK_BYTES = 64 * 1024;

/** One change made to a host, recorded as it happens (bulk calls record one per host). */
export interface HostMutation {
  kind: 'retire' | 'status' | 'roles';
  hostId: string;
  /** the status before and after a status change */
  from?: HostStatus;
  to?: HostStatus;
  /** epoch ms */
  at: number;
}

export interface FaultRule {
  method?: string;
  pathPrefix?: string;
  status: 429 | 500 | 502 | 503;
  /** how many times (default Infinity) */
  times?: number;
  /** fire with this probability 0..1, drawn from the server's rng */
  probability?: number;
}

/**
 * A recorded answer served as it is, instead of the API's own (a published body on its endpoint, or on the wrong
 * one): the test of how the client copes with what it did not expect.
 */
export interface VerbatimRule {
  method?: string;
  /** the request path, matched exactly (e.g. `/api/v0/hosts`) */
  path: string;
  /** default 200 */
  status?: number;
  /** the raw response text */
  body: string;
  /** how many times (default Infinity) */
  times?: number;
}

export const HOST_STATUSES: readonly HostStatus[] = ['working', 'standby', 'maintenance', 'poweroff'];
export const CHECK_STATUSES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export const BULK_LIMIT = 30;
export const TSDB_LATEST_HOST_LIMIT = 100;
export const CHECK_REPORT_LIMIT = 100;
export const CHECK_REPORT_MAX_AGE_SECONDS = 6 * 60 * 60;

const DEFAULT_LIST_STATUSES: readonly HostStatus[] = ['working', 'standby'];
// Mackerel service and role names: alphanumerics, '-' and '_', not starting with a symbol.
const ROLE_FULLNAME = /^([A-Za-z0-9][A-Za-z0-9_-]*):([A-Za-z0-9][A-Za-z0-9_-]*)$/;
const FAULT_MESSAGES: Record<FaultRule['status'], string> = {
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** a host list: written host by host instead of `body`, the raw hosts (`addRawHost`) after the others */
  hosts?: { fake: FakeHost[]; raw: Record<string, unknown>[] };
}

const ok = (body: unknown): Answer => ({ status: 200, body });
const success = (): Answer => ok({ success: true });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHostStatus(v: unknown): v is HostStatus {
  return typeof v === 'string' && (HOST_STATUSES as readonly string[]).includes(v);
}

/** The `ids` of a bulk request: a non-empty array of at most 30 strings. */
function bulkIds(body: unknown): string[] {
  const ids = isRecord(body) ? body.ids : undefined;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
    throw new ApiError(400, 'ids must be an array of host ids');
  }
  if (ids.length === 0) throw new ApiError(400, 'ids must not be empty');
  if (ids.length > BULK_LIMIT) throw new ApiError(400, `ids must have at most ${BULK_LIMIT} elements`);
  return ids;
}

/** The pieces of a host list body, one host at a time (retiredAt is never served; raw hosts are served as given). */
function* hostListPieces(
  hosts: { fake: readonly FakeHost[]; raw: readonly unknown[] },
  hostJson: (h: FakeHost) => string,
): Generator<Buffer> {
  yield Buffer.from('{"hosts":[');
  let first = true;
  for (const h of hosts.fake) {
    yield Buffer.from(`${first ? '' : ','}${hostJson(h)}`);
    first = false;
  }
  for (const r of hosts.raw) {
    yield Buffer.from(`${first ? '' : ','}${JSON.stringify(r)}`);
    first = false;
  }
  yield Buffer.from(']}');
}

/** An alert as `GET /api/v0/alerts` serves it; `hostId` only for host-bound types (connectivity, host, check). */
export interface FakeAlert {
  id: string;
  status: 'OK' | 'CRITICAL' | 'WARNING' | 'UNKNOWN';
  monitorId: string;
  type: string;
  hostId?: string;
  value?: number;
  message?: string;
  reason?: string;
  openedAt: number;
  closedAt?: number;
}

export const ALERTS_LIMIT = 100;

export class FakeMackerel extends FakeServer {
  /** alerts by id (open ones have no `closedAt`) */
  readonly alerts = new Map<string, FakeAlert>();

  readonly apiKey: string;
  latencyMs: number;
  readonly hosts = new Map<string, FakeHost>();
  readonly calls: CallLogEntry[] = [];
  readonly checkReports: unknown[] = [];
  /** graph annotations posted, in order */
  readonly graphAnnotations: FakeGraphAnnotation[] = [];
  /** every change made to a host, in the order it was made */
  readonly mutations: HostMutation[] = [];
  /**
   * Called synchronously as each change is made, so a test can note what else was true at that very moment
   * (e.g. the state of the host's EC2 instance when it was retired).
   */
  onMutation: ((m: HostMutation) => void) | undefined;
  /** how `GET /api/v0/hosts` is written; may be changed between requests */
  hostList: HostListPacing;

  private readonly rng: () => number;
  private readonly metrics = new Map<string, Map<string, { time: number; value: number }>>();
  private faults: { rule: FaultRule; budget: FaultBudget }[] = [];
  private verbatim: { rule: VerbatimRule; left: number }[] = [];
  /** host bodies of any shape, served as given and never changed (see `addRawHost`) */
  private readonly rawHosts: Record<string, unknown>[] = [];

  /** addHost without a `meta` gives the host an agent's realistic meta (host-meta.ts) instead of `{}` */
  private readonly realisticMeta: boolean;
  /** agents report unless silenced (`silenceAgent`); see `agentReporting` */
  agentsReport: boolean;
  /** the time a reporting agent's last loadavg5 is taken from (a test with a virtual clock sets its own) */
  clock: () => number = Date.now;
  /** JSON of frozen meta objects (host-meta.ts deep-freezes what it makes): a list re-serialises only what can change */
  private readonly metaText = new WeakMap<object, string>();

  constructor(
    opts: {
      apiKey?: string;
      latencyMs?: number;
      rng?: () => number;
      hostList?: HostListPacing;
      /** hosts added without a `meta` get an agent's realistic meta (opt-in: tests rely on `{}`) */
      realisticMeta?: boolean;
      /** a host with an agent (`meta.agent-version`) reports loadavg5 unless silenced; default true */
      agentsReport?: boolean;
    } = {},
  ) {
    super();
    this.apiKey = opts.apiKey ?? 'sandbox-api-key';
    this.latencyMs = opts.latencyMs ?? 0;
    this.rng = opts.rng ?? Math.random;
    this.hostList = opts.hostList ?? {};
    this.realisticMeta = opts.realisticMeta ?? false;
    this.agentsReport = opts.agentsReport ?? true;
  }

  addHost(h: Partial<FakeHost> & { name: string }): FakeHost {
    let id = h.id;
    if (id === undefined) {
      do id = randomChars(this.rng, BASE62, 11);
      while (this.hosts.has(id));
    } else if (this.hosts.has(id)) {
      throw new Error(`host ${id} already exists`);
    }
    const host: FakeHost = {
      status: 'working',
      memo: '',
      roles: {},
      isRetired: false,
      createdAt: Math.floor(Date.now() / 1000),
      meta: {},
      interfaces: [],
      size: 'standard',
      ...h,
      id,
    };
    if (h.meta === undefined && this.realisticMeta) host.meta = this.agentMetaFor(host);
    // serialised now rather than by the first host list, whose answer would otherwise take seconds more at 100,000
    this.metaJson(host.meta);
    this.hosts.set(id, host);
    return host;
  }

  /** The meta an agent on this host's instance would register (no `cloud` without a customIdentifier). */
  private agentMetaFor(h: FakeHost): FakeHost['meta'] {
    const ci = /^(i-[0-9a-f]+)\.ec2\.amazonaws\.com$/i.exec(h.customIdentifier ?? '');
    const ip = h.interfaces?.[0]?.ipAddress ?? /^ip-(\d+)-(\d+)-(\d+)-(\d+)/.exec(h.name)?.slice(1).join('.') ?? '10.0.0.10';
    const dns = h.name.includes('.') ? h.name : `ip-${ip.replace(/\./g, '-')}.ap-northeast-1.compute.internal`;
    return agentHostMeta({
      seed: seedOf(h.id),
      instance: { instanceId: ci?.[1] ?? h.id, privateIpAddress: ip, privateDnsName: dns },
      imds: ci !== null,
    }) as unknown as FakeHost['meta'];
  }

  /** The host as the list serves it (no retiredAt), as JSON; the meta's text cached when the meta is frozen. */
  private hostJson(h: FakeHost): string {
    const { retiredAt: _retiredAt, meta, ...rest } = h;
    const head = JSON.stringify(rest);
    if (meta === undefined) return head;
    return `${head === '{}' ? '{' : `${head.slice(0, -1)},`}"meta":${this.metaJson(meta)}}`;
  }

  private metaJson(meta: unknown): string {
    if (typeof meta !== 'object' || meta === null || !Object.isFrozen(meta)) return JSON.stringify(meta);
    let text = this.metaText.get(meta);
    if (text === undefined) {
      text = JSON.stringify(meta);
      this.metaText.set(meta, text);
    }
    return text;
  }

  /**
   * A host body of any shape (a published example, `meta: ""`, no `id`, an unknown `status`), served verbatim by
   * the list, `GET /api/v0/hosts/<id>` and the custom-identifier look-up. The sandbox cannot know how Mackerel
   * would filter a host of a shape it never produces, so the list filters it only on what it can read (a known
   * status, a string name or customIdentifier) and otherwise serves it. It is read-only: a write to its id
   * answers 404, as for an unknown host, and stays in the call log for the test to see.
   */
  addRawHost(body: Record<string, unknown>): void {
    this.rawHosts.push(structuredClone(body));
  }

  /** Answers matching requests with `rule.body` as it is (after the API key check), until `times` runs out. */
  serveVerbatim(rule: VerbatimRule): void {
    this.verbatim.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clearVerbatim(): void {
    this.verbatim = [];
  }

  /** An open alert (a connectivity alert of `hostId` unless told otherwise). */
  addAlert(over: Partial<FakeAlert> = {}): FakeAlert {
    let id = over.id;
    if (id === undefined) {
      do id = randomChars(this.rng, BASE62, 11);
      while (this.alerts.has(id));
    }
    const alert: FakeAlert = {
      status: 'CRITICAL',
      monitorId: 'connectivity1',
      type: 'connectivity',
      openedAt: Math.floor(Date.now() / 1000) - 300,
      ...over,
      id,
    };
    this.alerts.set(id, alert);
    return alert;
  }

  openAlertsOf(hostId: string): FakeAlert[] {
    return [...this.alerts.values()].filter((a) => a.hostId === hostId && a.closedAt === undefined);
  }

  setLatestMetric(hostId: string, name: string, time: number, value: number): void {
    let byName = this.metrics.get(hostId);
    if (byName === undefined) {
      byName = new Map();
      this.metrics.set(hostId, byName);
    }
    byName.set(name, { time, value });
  }

  /**
   * Hosts whose agent does not report: by default a live host with `meta.agent-version` and no metric set for it
   * answers a fresh loadavg5, as a running agent posts every minute; one listed here answers nothing (or what
   * `setLatestMetric` set).
   */
  readonly silentAgents = new Set<string>();

  /** The agent on this host stops posting (its last loadavg5 stays where it was, if any). */
  silenceAgent(hostId: string): void {
    this.silentAgents.add(hostId);
  }

  private agentReporting(hostId: string): Map<string, { time: number; value: number }> | undefined {
    const h = this.hosts.get(hostId);
    if (!this.agentsReport || !h || h.isRetired || this.silentAgents.has(hostId)) return undefined;
    if (typeof h.meta?.['agent-version'] !== 'string') return undefined;
    return new Map([['loadavg5', { time: Math.floor(this.clock() / 1000) - 30, value: 0.25 }]]);
  }

  inject(rule: FaultRule): void {
    this.faults.push({ rule, budget: new FaultBudget(this.rng, rule) });
  }

  clearFaults(): void {
    this.faults = [];
  }

  writeCalls(): CallLogEntry[] {
    return this.calls.filter((c) => c.method === 'POST' || c.method === 'PUT');
  }

  protected bugBody(message: string): string {
    return JSON.stringify({ error: { message } });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) query[k] = [...(query[k] ?? []), v];
    const raw = await readBody(req);
    let body: unknown;
    let malformed = false;
    if (raw.trim().length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        malformed = true;
      }
    }

    let answer: Answer;
    let verbatim: VerbatimRule | undefined;
    // The first matching rule that fires wins; `fire()` spends its budget, so it must come last in the test.
    const fault = this.faults.find(
      ({ rule, budget }) =>
        !budget.exhausted &&
        (rule.method === undefined || rule.method.toUpperCase() === method) &&
        (rule.pathPrefix === undefined || url.pathname.startsWith(rule.pathPrefix)) &&
        budget.fire(),
    );
    if (fault) {
      answer = {
        status: fault.rule.status,
        body: { error: { message: FAULT_MESSAGES[fault.rule.status] } },
        headers: fault.rule.status === 429 ? { 'retry-after': '0' } : {},
      };
    } else if (req.headers['x-api-key'] !== this.apiKey) {
      answer = {
        status: 403,
        body: { error: { message: 'Authentication failed. Please check your API key.' } },
      };
    } else if ((verbatim = this.takeVerbatim(method, url.pathname)) !== undefined) {
      answer = { status: verbatim.status ?? 200, body: null };
    } else if (malformed) {
      answer = { status: 400, body: { error: { message: 'Request body is not valid JSON' } } };
    } else {
      try {
        answer = this.route(method, url.pathname, query, body);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        answer = { status: err.status, body: { error: { message: err.message } } };
      }
    }

    await sleep(this.latencyMs);
    const entry: CallLogEntry = {
      method,
      path: url.pathname,
      query,
      body,
      status: answer.status,
      at,
      ...(fault ? { fault: true as const } : {}),
    };
    this.calls.push(entry);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    if (answer.hosts && !verbatim) return this.writeHostList(res, answer.hosts, entry);
    const text = verbatim ? verbatim.body : JSON.stringify(answer.body);
    entry.bytes = Buffer.byteLength(text);
    res.end(text);
  }

  /**
   * Writes `{"hosts":[…]}` in chunks with backpressure, serialising each host only when it is due, so that even
   * 50,000 hosts of real-sized meta never sit in memory as one string (a host changed meanwhile shows its change).
   */
  private async writeHostList(
    res: ServerResponse,
    hosts: NonNullable<Answer['hosts']>,
    entry: CallLogEntry,
  ): Promise<void> {
    const pacing = this.hostList;
    const stalls = pacing.stallAfterBytes !== undefined && (pacing.stalls ?? Number.POSITIVE_INFINITY) > 0;
    if (stalls && pacing.stalls !== undefined) pacing.stalls--;
    const stallAt = stalls ? (pacing.stallAfterBytes as number) : Number.POSITIVE_INFINITY;
    let sent = 0;
    entry.bytes = 0;
    const pieces = hostListPieces(hosts, (h) => this.hostJson(h));
    for (const chunk of rechunk(pieces, pacing.chunkBytes ?? HOST_LIST_CHUNK_BYTES)) {
      if (sent > 0) await sleep(pacing.chunkIntervalMs ?? 0);
      const part = sent + chunk.length > stallAt ? chunk.subarray(0, stallAt - sent) : chunk;
      if (part.length > 0 && !(await writeChunk(res, part))) return;
      sent += part.length;
      entry.bytes = sent;
      if (part !== chunk) return closed(res);
    }
    res.end();
  }

  /** The first verbatim rule for this request, spending one of its times. */
  private takeVerbatim(method: string, pathname: string): VerbatimRule | undefined {
    const hit = this.verbatim.find(
      (v) => v.left > 0 && v.rule.path === pathname && (v.rule.method ?? 'GET').toUpperCase() === method,
    );
    if (hit) hit.left--;
    return hit?.rule;
  }

  private route(method: string, pathname: string, query: Record<string, string[]>, body: unknown): Answer {
    // Split the raw path so that an encoded '/' inside a custom identifier stays inside its segment.
    const parts = pathname.split('/').slice(1);
    if (parts[0] !== 'api' || parts[1] !== 'v0') throw new ApiError(404, 'Not Found');
    let segments: string[];
    try {
      segments = parts.slice(2).map((p) => decodeURIComponent(p));
    } catch {
      throw new ApiError(400, 'malformed percent-encoding in path');
    }
    const [resource, a, b] = segments;
    const n = parts.length - 2;

    if (resource === 'hosts') {
      if (n === 1 && method === 'GET') return this.listHosts(query);
      if (n === 2 && method === 'POST' && a === 'bulk-retire') return this.bulkRetire(body);
      if (n === 2 && method === 'POST' && a === 'bulk-update-statuses') return this.bulkUpdateStatuses(body);
      if (n === 2 && method === 'GET' && a !== undefined) {
        const raw = this.rawHosts.find((r) => r.id === a && !this.hosts.has(a));
        return ok({ host: raw ?? this.view(this.anyHost(a)) });
      }
      if (n === 3 && method === 'POST' && a !== undefined && b === 'retire') return this.retire(a);
      if (n === 3 && method === 'POST' && a !== undefined && b === 'status') {
        return this.updateStatus(a, body);
      }
      if (n === 3 && method === 'PUT' && a !== undefined && b === 'role-fullnames') {
        return this.updateRoles(a, body);
      }
    }
    if (resource === 'hosts-by-custom-identifier' && n === 2 && method === 'GET' && a !== undefined) {
      return this.hostByCustomIdentifier(a, query);
    }
    if (resource === 'tsdb' && n === 2 && a === 'latest' && method === 'GET') return this.tsdbLatest(query);
    if (resource === 'alerts' && n === 1 && method === 'GET') return this.listAlerts(query);
    if (resource === 'alerts' && n === 3 && method === 'POST' && a !== undefined && b === 'close') {
      return this.closeAlert(a, body);
    }
    if (resource === 'monitoring' && n === 3 && a === 'checks' && b === 'report' && method === 'POST') {
      return this.postCheckReports(body);
    }
    if (resource === 'graph-annotations' && n === 1 && method === 'POST') return this.postGraphAnnotation(body);
    if (resource === 'graph-annotations' && n === 1 && method === 'GET') return this.listGraphAnnotations(query);
    throw new ApiError(404, 'Not Found');
  }

  /** Newest first; `nextId` (only while more remain) is the id of the first alert of the next page. */
  private listAlerts(query: Record<string, string[]>): Answer {
    const limit = query.limit?.[0] === undefined ? ALERTS_LIMIT : Number(query.limit[0]);
    if (!Number.isInteger(limit) || limit < 1 || limit > ALERTS_LIMIT) {
      throw new ApiError(400, `limit must be from 1 to ${ALERTS_LIMIT}`);
    }
    const withClosed = query.withClosed?.[0] === 'true';
    const all = [...this.alerts.values()]
      .filter((x) => withClosed || x.closedAt === undefined)
      .sort((x, y) => y.openedAt - x.openedAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const nextId = query.nextId?.[0];
    let start = 0;
    if (nextId !== undefined) {
      start = all.findIndex((x) => x.id === nextId);
      if (start < 0) throw new ApiError(400, 'invalid nextId');
    }
    const page = all.slice(start, start + limit);
    const next = all[start + limit];
    return ok({ alerts: page.map((x) => ({ ...x })), ...(next ? { nextId: next.id } : {}) });
  }

  private closeAlert(id: string, body: unknown): Answer {
    const alert = this.alerts.get(id);
    if (!alert) throw new ApiError(404, 'Alert Not Found.');
    const reason = isRecord(body) ? body.reason : undefined;
    if (typeof reason !== 'string') throw new ApiError(400, 'reason is required');
    if (alert.closedAt !== undefined) throw new ApiError(400, 'the alert is already closed');
    Object.assign(alert, { status: 'OK', reason, closedAt: Math.floor(Date.now() / 1000) });
    return ok({ ...alert });
  }

  private mutated(m: Omit<HostMutation, 'at'>): void {
    const entry = { ...m, at: Date.now() };
    this.mutations.push(entry);
    this.onMutation?.(entry);
  }

  private view(h: FakeHost): Omit<FakeHost, 'retiredAt'> {
    const { retiredAt: _retiredAt, ...rest } = structuredClone(h);
    return rest;
  }

  /** Any host by id, retired ones included (as `GET /api/v0/hosts/<id>` does). */
  private anyHost(id: string): FakeHost {
    const h = this.hosts.get(id);
    if (h === undefined) throw new ApiError(404, 'Host Not Found.');
    return h;
  }

  private liveHost(id: string): FakeHost {
    const h = this.hosts.get(id);
    if (h === undefined || h.isRetired) throw new ApiError(404, 'Host Not Found.');
    return h;
  }

  private listHosts(query: Record<string, string[]>): Answer {
    const statuses = query.status ?? DEFAULT_LIST_STATUSES;
    for (const s of statuses) if (!isHostStatus(s)) throw new ApiError(400, `invalid status: ${s}`);
    const service = query.service?.[0];
    const roles = query.role ?? [];
    if (roles.length > 0 && service === undefined) throw new ApiError(400, 'role requires service');
    const names = query.name;
    const ci = query.customIdentifier?.[0];
    const hosts = [...this.hosts.values()].filter(
      (h) =>
        !h.isRetired &&
        statuses.includes(h.status) &&
        (names === undefined || names.includes(h.name)) &&
        (ci === undefined || h.customIdentifier === ci) &&
        (service === undefined || h.roles[service] !== undefined) &&
        (roles.length === 0 || roles.some((r) => h.roles[service as string]?.includes(r))),
    );
    const raw = this.rawHosts.filter(
      (r) =>
        r.isRetired !== true &&
        (!isHostStatus(r.status) || statuses.includes(r.status)) &&
        (names === undefined || typeof r.name !== 'string' || names.includes(r.name)) &&
        (ci === undefined || r.customIdentifier === ci) &&
        service === undefined,
    );
    return { status: 200, body: undefined, hosts: { fake: hosts, raw } };
  }

  private hostByCustomIdentifier(ci: string, query: Record<string, string[]>): Answer {
    const insensitive = query.caseInsensitive?.[0] === 'true';
    const same = (x: string | undefined) =>
      x !== undefined && (insensitive ? x.toLowerCase() === ci.toLowerCase() : x === ci);
    const h = [...this.hosts.values()].find((x) => !x.isRetired && same(x.customIdentifier));
    if (h !== undefined) return ok({ host: this.view(h) });
    const raw = this.rawHosts.find(
      (r) => r.isRetired !== true && typeof r.customIdentifier === 'string' && same(r.customIdentifier),
    );
    if (raw === undefined) throw new ApiError(404, 'Host Not Found.');
    return ok({ host: structuredClone(raw) });
  }

  private retire(id: string): Answer {
    // The real API can error on a host that is already retired; answering 404 makes callers handle it.
    const h = this.liveHost(id);
    h.isRetired = true;
    h.retiredAt = Math.floor(Date.now() / 1000);
    this.mutated({ kind: 'retire', hostId: h.id });
    return success();
  }

  private bulkRetire(body: unknown): Answer {
    const ids = bulkIds(body);
    const hosts = ids.map((id) => this.liveHost(id)); // any unknown id: 404 before anything changes
    const now = Math.floor(Date.now() / 1000);
    for (const h of hosts) {
      h.isRetired = true;
      h.retiredAt = now;
      this.mutated({ kind: 'retire', hostId: h.id });
    }
    return success();
  }

  private updateStatus(id: string, body: unknown): Answer {
    const h = this.liveHost(id);
    const status = isRecord(body) ? body.status : undefined;
    if (!isHostStatus(status)) throw new ApiError(400, `invalid status: ${String(status)}`);
    this.mutated({ kind: 'status', hostId: h.id, from: h.status, to: status });
    h.status = status;
    return success();
  }

  private bulkUpdateStatuses(body: unknown): Answer {
    const ids = bulkIds(body);
    const status = isRecord(body) ? body.status : undefined;
    if (!isHostStatus(status)) throw new ApiError(400, `invalid status: ${String(status)}`);
    const hosts = ids.map((id) => this.liveHost(id));
    for (const h of hosts) {
      this.mutated({ kind: 'status', hostId: h.id, from: h.status, to: status });
      h.status = status;
    }
    return success();
  }

  private updateRoles(id: string, body: unknown): Answer {
    const h = this.liveHost(id);
    const fullnames = isRecord(body) ? body.roleFullnames : undefined;
    if (!Array.isArray(fullnames)) throw new ApiError(400, 'roleFullnames must be an array');
    const roles: Record<string, string[]> = {};
    for (const f of fullnames) {
      const m = typeof f === 'string' ? ROLE_FULLNAME.exec(f) : null;
      if (m === null) throw new ApiError(400, `invalid role fullname: ${JSON.stringify(f)}`);
      const [, service, role] = m as unknown as [string, string, string];
      const list = roles[service] ?? [];
      if (!list.includes(role)) roles[service] = [...list, role];
    }
    h.roles = roles;
    this.mutated({ kind: 'roles', hostId: h.id });
    return success();
  }

  private tsdbLatest(query: Record<string, string[]>): Answer {
    const hostIds = query.hostId ?? [];
    const names = query.name ?? [];
    if (hostIds.length === 0) throw new ApiError(400, 'hostId is required');
    if (names.length === 0) throw new ApiError(400, 'name is required');
    if (hostIds.length > TSDB_LATEST_HOST_LIMIT) {
      throw new ApiError(400, `too many hostIds (the sandbox accepts at most ${TSDB_LATEST_HOST_LIMIT})`);
    }
    const tsdbLatest: Record<string, Record<string, { time: number; value: number }>> = {};
    for (const hostId of hostIds) {
      const byName = this.metrics.get(hostId) ?? this.agentReporting(hostId);
      if (byName === undefined) continue;
      for (const name of names) {
        const point = byName.get(name);
        if (point !== undefined) tsdbLatest[hostId] = { ...tsdbLatest[hostId], [name]: { ...point } };
      }
    }
    return ok({ tsdbLatest });
  }

  private postCheckReports(body: unknown): Answer {
    const reports = isRecord(body) ? body.reports : undefined;
    if (!Array.isArray(reports)) throw new ApiError(400, 'reports must be an array');
    if (reports.length > CHECK_REPORT_LIMIT) {
      throw new ApiError(400, `reports must have at most ${CHECK_REPORT_LIMIT} elements`);
    }
    const oldest = Math.floor(Date.now() / 1000) - CHECK_REPORT_MAX_AGE_SECONDS;
    reports.forEach((r: unknown, i) => {
      const at = `reports[${i}]`;
      if (!isRecord(r)) throw new ApiError(400, `${at} must be an object`);
      const source = r.source;
      if (!isRecord(source) || source.type !== 'host' || typeof source.hostId !== 'string') {
        throw new ApiError(400, `${at}.source must be {"type":"host","hostId":…}`);
      }
      if (typeof r.name !== 'string' || r.name.length === 0)
        throw new ApiError(400, `${at}.name is required`);
      if (!(CHECK_STATUSES as readonly unknown[]).includes(r.status)) {
        throw new ApiError(400, `${at}.status must be one of ${CHECK_STATUSES.join(', ')}`);
      }
      if (typeof r.message !== 'string') throw new ApiError(400, `${at}.message must be a string`);
      if (typeof r.occurredAt !== 'number' || !Number.isFinite(r.occurredAt)) {
        throw new ApiError(400, `${at}.occurredAt is required (epoch seconds)`);
      }
      if (r.occurredAt < oldest) throw new ApiError(400, `${at}.occurredAt is older than 6 hours`);
    });
    this.checkReports.push(...reports);
    return success();
  }

  /** Services exist while any host (retired ones too) has them: the sandbox has no service API of its own. */
  private serviceRoles(): Map<string, Set<string>> {
    const services = new Map<string, Set<string>>();
    for (const h of this.hosts.values()) {
      for (const [service, roles] of Object.entries(h.roles)) {
        const set = services.get(service) ?? new Set<string>();
        for (const r of roles) set.add(r);
        services.set(service, set);
      }
    }
    return services;
  }

  private postGraphAnnotation(body: unknown): Answer {
    const checked = checkGraphAnnotation(body, this.serviceRoles());
    if (!checked.ok) throw new ApiError(checked.status, checked.message);
    const annotation = { id: randomChars(this.rng, BASE62, 11), ...checked.annotation };
    this.graphAnnotations.push(annotation);
    return ok(annotation);
  }

  private listGraphAnnotations(query: Record<string, string[]>): Answer {
    const service = query.service?.[0];
    const from = Number(query.from?.[0]);
    const to = Number(query.to?.[0]);
    if (service === undefined || !Number.isFinite(from) || !Number.isFinite(to)) {
      throw new ApiError(400, 'service, from and to are required');
    }
    if (!this.serviceRoles().has(service)) throw new ApiError(404, `Service ${service} not found`);
    return ok({ graphAnnotations: annotationsBetween(this.graphAnnotations, service, from, to) });
  }
}
