/** Plain-object builders for planner tests: a fleet in a few lines. */
import type { Instance } from '../../shared/ec2/instance.js';
import { Host } from '../../shared/mackerel/schemas.js';
import type { Finding } from '../../shared/reconcile/model.js';
import type {
  Action,
  CheckMemo,
  InstanceRecord,
  Observation,
  Plan,
  Policy,
  RestoreMemo,
} from '../../shared/reconcile/types.js';

export const NOW = Date.parse('2026-11-21T12:00:00Z');
export const NOW_S = NOW / 1000;
export const REGION = 'ap-northeast-1';
export const HOUR = 3600;

let n = 0;
export function instance(id: string, over: Partial<Instance> = {}): Instance {
  n++;
  const ip = over.privateIpAddress ?? `10.0.${Math.floor(n / 250)}.${n % 250}`;
  return {
    instanceId: id,
    region: REGION,
    state: 'running',
    privateIpAddress: ip,
    privateDnsName: `ip-${ip.replaceAll('.', '-')}.${REGION}.compute.internal`,
    launchTime: NOW - 10 * HOUR * 1000,
    tags: {},
    httpEndpoint: 'enabled',
    ...over,
  };
}

/** What DescribeInstances returns for a terminated instance: no private DNS name or IP any more. */
export const asTerminated = (inst: Instance): Instance => ({
  ...inst,
  state: 'terminated',
  privateDnsName: undefined,
  privateIpAddress: undefined,
});

export function host(id: string, over: Partial<Host> & Record<string, unknown> = {}): Host {
  return Host.parse({
    id,
    name: `host-${id}`,
    status: 'working',
    roles: {},
    isRetired: false,
    createdAt: NOW_S - 5 * HOUR,
    meta: {},
    interfaces: [],
    ...over,
  });
}

/** The integration / agent-with-IMDS host of an instance. */
export const ciHost = (id: string, inst: Instance, over: Partial<Host> = {}) =>
  host(id, {
    name: inst.privateDnsName ?? id,
    customIdentifier: `${inst.instanceId}.ec2.amazonaws.com`,
    ...over,
  });

/** The agent's second host when IMDS was unreachable: only the OS hostname and IP tie it to the instance. */
export const agentHost = (id: string, inst: Instance, over: Partial<Host> = {}) =>
  host(id, {
    name: inst.privateDnsName ?? id,
    interfaces: [
      { name: 'eth0', ipAddress: inst.privateIpAddress, ipv4Addresses: [`${inst.privateIpAddress}/24`] },
    ],
    ...over,
  });

export function record(inst: Instance, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceId: inst.instanceId,
    region: inst.region,
    accountId: '123456789012',
    state: inst.state,
    stateTime: NOW_S - HOUR,
    version: 3,
    firstSeenAt: NOW_S - 10 * HOUR,
    lastSeenAt: NOW_S - 60,
    ignored: false,
    privateDnsName: inst.privateDnsName,
    privateIpAddress: inst.privateIpAddress,
    launchTime: inst.launchTime,
    linkedHostIds: [],
    // DescribeInstances returned it in an earlier run: the evidence a later miss means gone
    describedAt: NOW_S - 10 * HOUR,
    ...over,
  };
}

export const restoreMemo = (inst: Instance, hostId: string, status: RestoreMemo['status']): RestoreMemo => ({
  instanceId: inst.instanceId,
  hostId,
  status,
  setAt: NOW_S - HOUR,
});

export const checkMemo = (
  inst: Instance,
  hostId: string,
  name: CheckMemo['name'],
  status: CheckMemo['status'],
): CheckMemo => ({
  instanceId: inst.instanceId,
  hostId,
  name,
  status,
  changedAt: NOW_S - HOUR,
});

export function observation(over: Partial<Observation> = {}): Observation {
  const instances = over.instances ?? [];
  return {
    now: NOW,
    mode: 'fleet',
    regions: [{ region: REGION, ok: true, instanceCount: Math.max(1, instances.length) }],
    hosts: [],
    instances,
    notFound: [],
    state: { records: [], restores: [], checks: [] },
    latestMetricTime: {},
    ...over,
  };
}

export function policy(over: Partial<Policy> = {}): Policy {
  return {
    dryRun: false,
    maxRetirePerRun: 50,
    maxRetirePercent: 20,
    duplicateStaleMinutes: 30,
    imdsRemediate: false,
    circuitBreaker: false,
    ...over,
  };
}

/** A plan of just these actions (what the executor is given), for executor tests. */
export const planOf = (actions: Action[], findings: Finding[] = []): Plan => ({
  actions,
  findings,
  links: [],
  linkedHostIds: new Map(),
  ambiguities: [],
  foreignHostIds: [],
  ignoredInstanceIds: [],
  unknownInstanceIds: [],
  goneInstanceIds: [],
});
