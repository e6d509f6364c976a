/**
 * EC2 inventory: DescribeInstances turned into validated `Instance`s, one region at a time.
 * A region that cannot be read is reported as such (`ok: false`), never as an empty region: the planner
 * must not mistake "could not look" for "everything is gone".
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance as Ec2Instance,
  ModifyInstanceMetadataOptionsCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { Ec2Error } from '../errors.js';
import type { Instance, InstanceState } from '../reconcile/model.js';
import type { Described, Fleet, RegionInventory, RegionProgress } from '../reconcile/ports.js';

export type { RegionInventory, RegionProgress };

export interface Ec2InventoryOptions {
  clientFor?: (region: string) => EC2Client;
  /** attempts per command, SDK retries included; default 6 */
  maxAttempts?: number;
  /** applied once to each client the inventory makes (the Lambda runtime traces them with X-Ray) */
  decorate?: (client: EC2Client) => EC2Client;
}

/** DescribeInstances returned something `toInstance` cannot trust. */
export class Ec2ShapeError extends Ec2Error {
  override readonly name = 'Ec2ShapeError';
  constructor(
    readonly region: string,
    readonly field: string,
    readonly instanceId: string | undefined,
    detail: string,
  ) {
    super(
      `EC2 DescribeInstances in ${region} returned an instance${instanceId ? ` ${instanceId}` : ''} with ${detail}`,
    );
  }
}

const PAGE_SIZE = 1000;
const NOT_FOUND = 'InvalidInstanceID.NotFound';
const STATES: ReadonlySet<string> = new Set<InstanceState>([
  'pending',
  'running',
  'shutting-down',
  'terminated',
  'stopping',
  'stopped',
]);

export class Ec2Inventory implements Fleet {
  /** commands sent, and attempts the SDK repeated (throttling, 5xx) */
  readonly stats = { describeCalls: 0, modifyCalls: 0, retries: 0 };
  readonly #clientFor: (region: string) => EC2Client;

  constructor(opts: Ec2InventoryOptions = {}) {
    const maxAttempts = opts.maxAttempts ?? 6;
    const clients = new Map<string, EC2Client>();
    // The SDK picks up AWS_ENDPOINT_URL_EC2 by itself; passing an endpoint here would override it.
    this.#clientFor =
      opts.clientFor ??
      ((region) => {
        let client = clients.get(region);
        if (!client) {
          client = new EC2Client({ region, maxAttempts });
          client = opts.decorate?.(client) ?? client;
          clients.set(region, client);
        }
        return client;
      });
  }

  /** Every instance of the region, in every state. Never throws. */
  async listRegion(
    region: string,
    onProgress?: (progress: RegionProgress) => void,
  ): Promise<RegionInventory> {
    const instances: Instance[] = [];
    let pages = 0;
    // A listener's own failure must not pass for a failed region.
    const report = (p: RegionProgress) => {
      try {
        onProgress?.(p);
      } catch {
        // ignored: progress is informative only
      }
    };
    try {
      const client = this.#clientFor(region);
      const paginator = paginateDescribeInstances({ client, pageSize: PAGE_SIZE }, {});
      try {
        for await (const page of paginator) {
          this.stats.describeCalls++;
          this.countRetries(page);
          pages++;
          for (const reservation of page.Reservations ?? []) {
            for (const raw of reservation.Instances ?? []) instances.push(toInstance(region, raw));
          }
          report({ region, pages, instances: instances.length, done: false });
        }
      } catch (err) {
        // a page that failed was a command sent too (unless it is our own shape error)
        if (!(err instanceof Ec2ShapeError)) this.stats.describeCalls++;
        throw err;
      }
      report({ region, pages, instances: instances.length, done: true });
      return { region, ok: true, instances };
    } catch (err) {
      const error = describeError(err);
      report({ region, pages, instances: instances.length, done: true, error });
      return { region, ok: false, error };
    }
  }

  async listRegions(
    regions: readonly string[],
    onProgress?: (progress: RegionProgress) => void,
  ): Promise<RegionInventory[]> {
    return Promise.all([...new Set(regions)].map((r) => this.listRegion(r, onProgress)));
  }

  /**
   * The given instances of one region. EC2 fails the whole call when one id is unknown (long terminated,
   * or another account's), naming the culprits: they are set aside and the rest asked again.
   */
  async describe(
    region: string,
    instanceIds: readonly string[],
  ): Promise<Described> {
    const found: Instance[] = [];
    const notFound: string[] = [];
    let pending = [...new Set(instanceIds)];
    while (pending.length > 0) {
      try {
        found.push(...(await this.#describeIds(region, pending)));
        break;
      } catch (err) {
        if (errorName(err) !== NOT_FOUND) throw err;
        const named = new Set(idsInNotFoundMessage(err instanceof Error ? err.message : ''));
        const missing = pending.filter((id) => named.has(id));
        if (missing.length > 0) {
          notFound.push(...missing);
          pending = pending.filter((id) => !named.has(id));
          continue;
        }
        // The message named no id we asked for: ask for each one alone.
        for (const id of pending) {
          try {
            found.push(...(await this.#describeIds(region, [id])));
          } catch (one) {
            if (errorName(one) !== NOT_FOUND) throw one;
            notFound.push(id);
          }
        }
        pending = [];
      }
    }
    const seen = new Set(found.map((i) => i.instanceId));
    // An id EC2 answers for without an error but without the instance is unknown as well.
    for (const id of instanceIds) if (!seen.has(id) && !notFound.includes(id)) notFound.push(id);
    return { found, notFound };
  }

  async enableMetadataEndpoint(region: string, instanceId: string): Promise<void> {
    this.stats.modifyCalls++;
    this.countRetries(
      await this.#clientFor(region).send(
        new ModifyInstanceMetadataOptionsCommand({ InstanceId: instanceId, HttpEndpoint: 'enabled' }),
      ),
    );
  }

  private countRetries(res: { $metadata?: { attempts?: number } }): void {
    this.stats.retries += Math.max(0, (res.$metadata?.attempts ?? 1) - 1);
  }

  async #describeIds(region: string, ids: string[]): Promise<Instance[]> {
    // No MaxResults: EC2 rejects it together with InstanceIds, and answers all of them in one page.
    this.stats.describeCalls++;
    const res = await this.#clientFor(region).send(new DescribeInstancesCommand({ InstanceIds: ids }));
    this.countRetries(res);
    const wanted = new Set(ids);
    return (res.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((raw) => toInstance(region, raw))
      .filter((i) => wanted.has(i.instanceId));
  }
}

/** One SDK instance as an `Instance`, refusing what the reconciler cannot reason about. */
export function toInstance(region: string, raw: Ec2Instance): Instance {
  const id = raw.InstanceId;
  if (typeof id !== 'string' || id === '')
    throw new Ec2ShapeError(region, 'InstanceId', undefined, 'no InstanceId');
  const state = raw.State?.Name;
  if (state === undefined) throw new Ec2ShapeError(region, 'State.Name', id, 'no State.Name');
  if (!STATES.has(state))
    throw new Ec2ShapeError(region, 'State.Name', id, `an unknown State.Name "${state}"`);
  const launch = raw.LaunchTime;
  const launchTime = launch instanceof Date ? launch.getTime() : Number.NaN;
  if (Number.isNaN(launchTime)) throw new Ec2ShapeError(region, 'LaunchTime', id, 'no valid LaunchTime');
  const endpoint = raw.MetadataOptions?.HttpEndpoint ?? 'enabled';
  if (endpoint !== 'enabled' && endpoint !== 'disabled') {
    throw new Ec2ShapeError(
      region,
      'MetadataOptions.HttpEndpoint',
      id,
      `an unknown MetadataOptions.HttpEndpoint "${endpoint}"`,
    );
  }

  const tags: Record<string, string> = {};
  for (const tag of raw.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';

  const instance: Instance = {
    instanceId: id,
    region,
    state: state as InstanceState,
    launchTime,
    tags,
    httpEndpoint: endpoint,
  };
  Object.assign(instance, metadataExtras(raw));
  // A terminated instance reports "" for both: absent, not a name to match hosts against.
  if (raw.PrivateDnsName) instance.privateDnsName = raw.PrivateDnsName;
  if (raw.PrivateIpAddress) instance.privateIpAddress = raw.PrivateIpAddress;
  return instance;
}

/** IMDS token mode, hop limit and platform: what the health diagnoses show (docs/design.md, "Host health"). */
// An unknown value is left out rather than failing the region: these only inform a diagnosis.
function metadataExtras(raw: Ec2Instance): Partial<Instance> {
  const out: Partial<Instance> = {};
  const tokens = raw.MetadataOptions?.HttpTokens;
  if (tokens === 'optional' || tokens === 'required') out.httpTokens = tokens;
  const hops = raw.MetadataOptions?.HttpPutResponseHopLimit;
  if (typeof hops === 'number' && Number.isFinite(hops)) out.httpPutResponseHopLimit = hops;
  if (raw.Platform) out.platform = String(raw.Platform).toLowerCase();
  return out;
}

/** Ids in "The instance ID 'i-1' does not exist" / "The instance IDs 'i-1, i-2' do not exist". */
export function idsInNotFoundMessage(message: string): string[] {
  const ids: string[] = [];
  for (const quoted of message.matchAll(/'([^']*)'/g)) {
    for (const part of (quoted[1] ?? '').split(',')) {
      const id = part.trim();
      if (/^i-[0-9a-zA-Z]+$/.test(id)) ids.push(id);
    }
  }
  return ids;
}

function errorName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : undefined;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const name = errorName(err);
  return name && name !== 'Error' && !err.message.startsWith(name) ? `${name}: ${err.message}` : err.message;
}
