/**
 * In-memory stand-ins for the ports the executor acts through: each records its calls (in one shared log, so
 * the order across ports shows) and can be told to fail. With the in-memory ledger they make a whole run
 * testable without a network. The batch limits are the real adapters' (a bulk call is cut the same way).
 */
import type { CheckReport, Finding, HostList, HostStatus, Instance } from '../../shared/reconcile/model.js';
import type {
  BulkOutcome,
  Described,
  Fleet,
  FindingSink,
  HostDirectory,
  HostListing,
  LatestMetricsResult,
  Ports,
  PublishResult,
  RegionInventory,
} from '../../shared/reconcile/ports.js';
import { MemoryLedger } from '../../shared/state/memory-ledger.js';

export interface Call {
  port: 'hosts' | 'fleet' | 'findings';
  method: string;
  args: unknown[];
}

/** Fails a call (by method, and optionally only when `when` says so for its arguments). */
export interface FakeFault {
  method: string;
  error: Error;
  when?: (args: unknown[]) => boolean;
}

class Recorder {
  constructor(
    readonly port: Call['port'],
    readonly log: Call[],
    readonly faults: FakeFault[],
  ) {}

  protected record(method: string, ...args: unknown[]): void {
    this.log.push({ port: this.port, method, args });
    const fault = this.faults.find((f) => f.method === method && (f.when?.(args) ?? true));
    if (fault) throw fault.error;
  }

  /** One recorded call per batch, a failed batch failing only its own items (as the adapters do). */
  protected bulk<T>(method: string, items: readonly T[], size: number, ...rest: unknown[]): BulkOutcome<T> {
    const out: BulkOutcome<T> = { done: [], failed: [] };
    for (let i = 0; i < items.length; i += size) {
      const batch = items.slice(i, i + size);
      try {
        this.record(method, batch, ...rest);
        out.done.push(...batch);
      } catch (e) {
        out.failed.push(...batch.map((id) => ({ id, error: e as Error })));
      }
    }
    return out;
  }
}

export class FakeHostDirectory extends Recorder implements HostDirectory {
  hosts: HostList = { hosts: [], unreadable: [] };
  metrics: LatestMetricsResult = { latest: {}, unreadable: [] };

  async listHosts(): Promise<HostListing> {
    this.record('listHosts');
    return { ...this.hosts, bytes: 0, durationMs: 0 };
  }
  async findHosts(filter: object): Promise<HostListing> {
    this.record('findHosts', filter);
    return { ...this.hosts, bytes: 0, durationMs: 0 };
  }
  async lookupHost(id: string): Promise<HostList> {
    this.record('lookupHost', id);
    return { hosts: this.hosts.hosts.filter((h) => h.id === id), unreadable: [] };
  }
  async latestMetrics(hostIds: readonly string[], names: readonly string[]): Promise<LatestMetricsResult> {
    this.record('latestMetrics', hostIds, names);
    return this.metrics;
  }
  async retireHosts(ids: readonly string[]): Promise<BulkOutcome> {
    return this.bulk('retireHosts', ids, 30);
  }
  async updateHostStatuses(ids: readonly string[], status: HostStatus): Promise<BulkOutcome> {
    return this.bulk('updateHostStatuses', ids, 30, status);
  }
  async updateRoleFullnames(hostId: string, roleFullnames: readonly string[]): Promise<void> {
    this.record('updateRoleFullnames', hostId, roleFullnames);
  }
  async postCheckReports(reports: readonly CheckReport[]): Promise<BulkOutcome<CheckReport>> {
    return this.bulk('postCheckReports', reports, 100);
  }
}

export class FakeFleet extends Recorder implements Fleet {
  /** what DescribeInstances answers, by instance id */
  instances = new Map<string, Instance>();

  async listRegions(regions: readonly string[]): Promise<RegionInventory[]> {
    this.record('listRegions', regions);
    return regions.map((region) => ({
      region,
      ok: true,
      instances: [...this.instances.values()].filter((i) => i.region === region),
    }));
  }
  async describe(region: string, instanceIds: readonly string[]): Promise<Described> {
    this.record('describe', region, instanceIds);
    const found = instanceIds.flatMap((id) => this.instances.get(id) ?? []);
    return { found, notFound: instanceIds.filter((id) => !this.instances.has(id)) };
  }
  async enableMetadataEndpoint(region: string, instanceId: string): Promise<void> {
    this.record('enableMetadataEndpoint', region, instanceId);
  }
}

export class FakeFindingSink extends Recorder implements FindingSink {
  readonly published: Finding[] = [];

  async publish(findings: readonly Finding[]): Promise<PublishResult> {
    if (findings.length > 0) this.record('publish', findings);
    this.published.push(...findings);
    return { published: findings.length, failed: [], errors: [] };
  }
}

export interface FakePorts extends Ports {
  hosts: FakeHostDirectory;
  fleet: FakeFleet;
  ledger: MemoryLedger;
  findings: FakeFindingSink;
  /** every call to the hosts, fleet and findings ports, in order */
  calls: Call[];
  faults: FakeFault[];
}

export function fakePorts(ledger = new MemoryLedger()): FakePorts {
  const calls: Call[] = [];
  const faults: FakeFault[] = [];
  return {
    hosts: new FakeHostDirectory('hosts', calls, faults),
    fleet: new FakeFleet('fleet', calls, faults),
    ledger,
    findings: new FakeFindingSink('findings', calls, faults),
    calls,
    faults,
  };
}
