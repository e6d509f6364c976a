// A fake EC2 Query API, reached by the real `@aws-sdk/client-ec2` through `AWS_ENDPOINT_URL_EC2`.
// The region of a call is read from the SigV4 credential scope, and instances live in one region each, so a
// multi-region inventory sees exactly what it would see against AWS. Quirks kept from real EC2:
// - MaxResults together with InstanceId is InvalidParameterCombination;
// - an unknown instance id fails the whole call with InvalidInstanceID.NotFound (naming the ids);
// - a terminated instance has no private IP and an empty private DNS name; an instance without tags has no tagSet.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, FaultBudget, readBody, sleep } from './http.js';
import { HEX, randomChars, randomInt, randomUuid } from './random.js';

export type InstanceStateName =
  | 'pending'
  | 'running'
  | 'shutting-down'
  | 'terminated'
  | 'stopping'
  | 'stopped';

export interface FakeInstance {
  instanceId: string;
  region: string;
  /** the owning account */
  ownerId: string;
  state: InstanceStateName;
  privateDnsName: string;
  privateIpAddress: string;
  launchTime: Date;
  tags: Record<string, string>;
  httpEndpoint: 'enabled' | 'disabled';
  httpTokens?: 'optional' | 'required';
  /** `windows` for a Windows instance (DescribeInstances' platform); absent for Linux */
  platform?: 'windows';
}

export interface Ec2CallLogEntry {
  action: string;
  region: string;
  params: Record<string, string>;
  status: number;
  at: number;
  /** bytes of the XML answer */
  bytes: number;
}

export interface Ec2Fault {
  status: number;
  code: string;
  message: string;
}

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/ec2\/aws4_request/;
const SUPPORTED_FILTERS = [
  'instance-state-name',
  'instance-id',
  'private-ip-address',
  'private-dns-name',
  'tag-key',
];

class Ec2Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `<tag>…</tag>`; children are already-serialised XML, a string leaf is escaped, undefined drops the element. */
function el(tag: string, content: string | number | undefined | string[]): string {
  if (content === undefined) return '';
  if (Array.isArray(content)) return `<${tag}>${content.join('')}</${tag}>`;
  return `<${tag}>${escapeXml(String(content))}</${tag}>`;
}

/** EC2 filter values accept `*` and `?` wildcards. */
function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function notFound(ids: string[]): Ec2Error {
  const message =
    ids.length === 1
      ? `The instance ID '${ids[0]}' does not exist`
      : `The instance IDs '${ids.join(', ')}' do not exist`;
  return new Ec2Error(400, 'InvalidInstanceID.NotFound', message);
}

/** `Prefix.N` (and `Prefix.N.Sub`) keys in numeric order. */
function indexed(params: Record<string, string>, prefix: string): number[] {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)(?:\\.|$)`);
  const ns = new Set<number>();
  for (const k of Object.keys(params)) {
    const m = re.exec(k);
    if (m) ns.add(Number(m[1]));
  }
  return [...ns].sort((x, y) => x - y);
}

export class FakeEc2 extends FakeServer {
  latencyMs: number;
  readonly calls: Ec2CallLogEntry[] = [];
  readonly instances = new Map<string, FakeInstance>();
  readonly accountId: string;

  private readonly rng: () => number;
  private readonly reservationIds = new Map<string, string>();
  private readonly regionFaults = new Map<string, Ec2Fault>();
  private readonly lagging = new Set<string>();
  private throttleBudget: FaultBudget | undefined;
  private readonly recorded = new Map<string, string>();

  constructor(opts: { latencyMs?: number; rng?: () => number; accountId?: string } = {}) {
    super();
    this.latencyMs = opts.latencyMs ?? 0;
    this.rng = opts.rng ?? Math.random;
    this.accountId = opts.accountId ?? '123456789012';
  }

  addInstance(i: Partial<FakeInstance> & { region?: string }): FakeInstance {
    const region = i.region ?? 'ap-northeast-1';
    let instanceId = i.instanceId;
    if (instanceId === undefined) {
      do instanceId = `i-${randomChars(this.rng, HEX, 17)}`;
      while (this.instances.has(instanceId));
    } else if (this.instances.has(instanceId)) {
      throw new Error(`instance ${instanceId} already exists`);
    }
    const ip =
      i.privateIpAddress ??
      `10.${randomInt(this.rng, 0, 255)}.${randomInt(this.rng, 0, 255)}.${randomInt(this.rng, 4, 254)}`;
    // us-east-1 is the one region whose private DNS suffix is `ec2.internal`.
    const suffix = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
    const instance: FakeInstance = {
      ownerId: this.accountId,
      state: 'running',
      privateDnsName: `ip-${ip.replace(/\./g, '-')}.${suffix}`,
      // EC2 reports launch times to the second; keep the default round-trippable.
      launchTime: new Date(Math.floor(Date.now() / 1000) * 1000),
      tags: {},
      httpEndpoint: 'enabled',
      ...i,
      privateIpAddress: ip,
      instanceId,
      region,
    };
    this.instances.set(instanceId, instance);
    this.reservationIds.set(instanceId, `r-${randomChars(this.rng, HEX, 17)}`);
    return instance;
  }

  setState(id: string, state: InstanceStateName): void {
    const instance = this.instances.get(id);
    if (instance === undefined) throw new Error(`no instance ${id}`);
    instance.state = state;
  }

  /**
   * EC2's eventual consistency: while lagging, DescribeInstances answers as if the instance did not exist
   * (NotFound by id, absent from listings), as it may right after a launch.
   */
  lag(id: string, lagging = true): void {
    if (lagging) this.lagging.add(id);
    else this.lagging.delete(id);
  }

  forget(id: string): void {
    this.instances.delete(id);
    this.reservationIds.delete(id);
  }

  failRegion(region: string, error: Ec2Fault | null): void {
    if (error === null) this.regionFaults.delete(region);
    else this.regionFaults.set(region, error);
  }

  /**
   * While set, DescribeInstances in `region` answers this recorded response body as it is (a published SDK test
   * fixture, say), whatever was asked, so the real SDK and inventory parse what AWS or a library once sent.
   * Region faults and throttling still come first; `null` goes back to the sandbox's own instances.
   */
  serveRecorded(region: string, xml: string | null): void {
    if (xml === null) this.recorded.delete(region);
    else this.recorded.set(region, xml);
  }

  throttle(opts: { times?: number; probability?: number } | null): void {
    this.throttleBudget = opts === null ? undefined : new FaultBudget(this.rng, opts);
  }

  protected bugBody(message: string): string {
    return this.errorXml('InternalError', message, 'sandbox-bug');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const action = params.Action ?? '';
    const region = CREDENTIAL_SCOPE.exec(req.headers.authorization ?? '')?.[1] ?? '';

    let status = 200;
    let xml: string;
    const requestId = randomUuid(this.rng);
    try {
      if (region === '') {
        throw new Ec2Error(
          401,
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
        );
      }
      if (this.throttleBudget?.fire())
        throw new Ec2Error(503, 'RequestLimitExceeded', 'Request limit exceeded.');
      xml = this.dispatch(action, region, params, requestId);
    } catch (err) {
      if (!(err instanceof Ec2Error)) throw err;
      status = err.status;
      xml = this.errorXml(err.code, err.message, requestId);
    }

    await sleep(this.latencyMs);
    this.calls.push({ action, region, params, status, at, bytes: Buffer.byteLength(xml) });
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
    res.end(xml);
  }

  private dispatch(
    action: string,
    region: string,
    params: Record<string, string>,
    requestId: string,
  ): string {
    switch (action) {
      case 'DescribeInstances':
        return this.describeInstances(region, params, requestId);
      case 'ModifyInstanceMetadataOptions':
        return this.modifyInstanceMetadataOptions(region, params, requestId);
      default:
        throw new Ec2Error(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  private errorXml(code: string, message: string, requestId: string): string {
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      el('Response', [
        el('Errors', [el('Error', [el('Code', code), el('Message', message)])]),
        el('RequestID', requestId),
      ])
    );
  }

  private inRegion(region: string, id: string): FakeInstance | undefined {
    const instance = this.instances.get(id);
    return instance?.region === region && !this.lagging.has(id) ? instance : undefined;
  }

  private describeInstances(region: string, params: Record<string, string>, requestId: string): string {
    const fault = this.regionFaults.get(region);
    if (fault) throw new Ec2Error(fault.status, fault.code, fault.message);
    const recorded = this.recorded.get(region);
    if (recorded !== undefined) return recorded;

    const ids = indexed(params, 'InstanceId').map((n) => params[`InstanceId.${n}`] as string);
    const maxResultsParam = params.MaxResults;
    if (maxResultsParam !== undefined && ids.length > 0) {
      throw new Ec2Error(
        400,
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults',
      );
    }
    let maxResults: number | undefined;
    if (maxResultsParam !== undefined) {
      maxResults = Number(maxResultsParam);
      if (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 1000) {
        throw new Ec2Error(
          400,
          'InvalidParameterValue',
          `Value ( ${maxResultsParam} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
        );
      }
    }
    const malformed = ids.find((id) => !INSTANCE_ID.test(id));
    if (malformed !== undefined) {
      throw new Ec2Error(
        400,
        'InvalidInstanceID.Malformed',
        `Invalid id: "${malformed}" (expecting "i-...")`,
      );
    }
    const missing = ids.filter((id) => this.inRegion(region, id) === undefined);
    if (missing.length > 0) throw notFound([...new Set(missing)]);

    const filters = indexed(params, 'Filter').map((n) => {
      const name = params[`Filter.${n}.Name`] ?? '';
      if (!name.startsWith('tag:') && !SUPPORTED_FILTERS.includes(name)) {
        throw new Ec2Error(400, 'InvalidParameterValue', `The filter '${name}' is invalid`);
      }
      const values = indexed(params, `Filter.${n}.Value`).map((m) =>
        wildcard(params[`Filter.${n}.Value.${m}`] ?? ''),
      );
      return { name, values };
    });

    let matching = [...this.instances.values()].filter(
      (i) =>
        i.region === region &&
        !this.lagging.has(i.instanceId) &&
        (ids.length === 0 || ids.includes(i.instanceId)) &&
        filters.every((f) => this.matchesFilter(i, f.name, f.values)),
    );

    let nextToken: string | undefined;
    if (maxResults !== undefined) {
      const offset = this.readToken(params.NextToken, region);
      if (offset + maxResults < matching.length) nextToken = this.makeToken(region, offset + maxResults);
      matching = matching.slice(offset, offset + maxResults);
    } else if (params.NextToken !== undefined) {
      matching = matching.slice(this.readToken(params.NextToken, region));
    }

    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<DescribeInstancesResponse xmlns="${EC2_XMLNS}">` +
      el('requestId', requestId) +
      el(
        'reservationSet',
        matching.map((i) => this.reservationXml(i)),
      ) +
      el('nextToken', nextToken) +
      '</DescribeInstancesResponse>'
    );
  }

  private matchesFilter(i: FakeInstance, name: string, values: RegExp[]): boolean {
    const terminated = i.state === 'terminated';
    const any = (v: string | undefined) => v !== undefined && values.some((re) => re.test(v));
    if (name.startsWith('tag:')) return any(i.tags[name.slice(4)]);
    switch (name) {
      case 'instance-state-name':
        return any(i.state);
      case 'instance-id':
        return any(i.instanceId);
      case 'private-ip-address':
        return !terminated && any(i.privateIpAddress);
      case 'private-dns-name':
        return !terminated && any(i.privateDnsName);
      case 'tag-key':
        return Object.keys(i.tags).some(any);
      default:
        return false;
    }
  }

  private makeToken(region: string, offset: number): string {
    return Buffer.from(JSON.stringify({ region, offset })).toString('base64url');
  }

  private readToken(token: string | undefined, region: string): number {
    if (token === undefined || token === '') return 0;
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        (parsed as { region?: unknown }).region === region &&
        Number.isInteger((parsed as { offset?: unknown }).offset)
      ) {
        return (parsed as { offset: number }).offset;
      }
    } catch {
      // fall through to the error below
    }
    throw new Ec2Error(
      400,
      'InvalidPaginationToken',
      'The specified pagination token is not valid or is expired.',
    );
  }

  private metadataOptionsXml(i: FakeInstance, state: 'applied' | 'pending'): string[] {
    return [
      el('state', state),
      el('httpTokens', i.httpTokens ?? 'optional'),
      el('httpPutResponseHopLimit', 1),
      el('httpEndpoint', i.httpEndpoint),
      el('httpProtocolIpv6', 'disabled'),
      el('instanceMetadataTags', 'disabled'),
    ];
  }

  private reservationXml(i: FakeInstance): string {
    const terminated = i.state === 'terminated';
    const tags = Object.entries(i.tags).map(([key, value]) =>
      el('item', [el('key', key), el('value', value)]),
    );
    const instance = el('item', [
      el('instanceId', i.instanceId),
      el('instanceState', [el('code', STATE_CODES[i.state]), el('name', i.state)]),
      el('privateDnsName', terminated ? '' : i.privateDnsName),
      el('dnsName', ''),
      el('instanceType', 't3.micro'),
      i.platform ? el('platform', i.platform) : '',
      el('launchTime', i.launchTime.toISOString()),
      el('placement', [el('availabilityZone', `${i.region}a`), el('tenancy', 'default')]),
      el('privateIpAddress', terminated ? undefined : i.privateIpAddress),
      tags.length > 0 ? el('tagSet', tags) : '',
      el('metadataOptions', this.metadataOptionsXml(i, 'applied')),
    ]);
    return el('item', [
      el('reservationId', this.reservationIds.get(i.instanceId) ?? 'r-00000000000000000'),
      el('ownerId', i.ownerId),
      el('groupSet', []),
      el('instancesSet', [instance]),
    ]);
  }

  private modifyInstanceMetadataOptions(
    region: string,
    params: Record<string, string>,
    requestId: string,
  ): string {
    const id = params.InstanceId;
    if (id === undefined || id === '') {
      throw new Ec2Error(400, 'MissingParameter', "The request must contain the parameter 'InstanceId'");
    }
    if (!INSTANCE_ID.test(id)) {
      throw new Ec2Error(400, 'InvalidInstanceID.Malformed', `Invalid id: "${id}" (expecting "i-...")`);
    }
    const instance = this.inRegion(region, id);
    if (instance === undefined) throw notFound([id]);
    const { HttpEndpoint: endpoint, HttpTokens: tokens } = params;
    if (endpoint !== undefined && endpoint !== 'enabled' && endpoint !== 'disabled') {
      throw new Ec2Error(
        400,
        'InvalidParameterValue',
        `Value (${endpoint}) for parameter HttpEndpoint is invalid.`,
      );
    }
    if (tokens !== undefined && tokens !== 'optional' && tokens !== 'required') {
      throw new Ec2Error(
        400,
        'InvalidParameterValue',
        `Value (${tokens}) for parameter HttpTokens is invalid.`,
      );
    }
    if (instance.state === 'terminated' || instance.state === 'shutting-down') {
      throw new Ec2Error(
        400,
        'IncorrectInstanceState',
        `The instance '${id}' is not in a state from which it can be modified.`,
      );
    }
    if (endpoint !== undefined) instance.httpEndpoint = endpoint;
    if (tokens !== undefined) instance.httpTokens = tokens;
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<ModifyInstanceMetadataOptionsResponse xmlns="${EC2_XMLNS}">` +
      el('requestId', requestId) +
      el('instanceId', id) +
      el('instanceMetadataOptions', this.metadataOptionsXml(instance, 'pending')) +
      '</ModifyInstanceMetadataOptionsResponse>'
    );
  }
}
