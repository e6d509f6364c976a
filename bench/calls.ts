/**
 * Counting the calls the code under test makes, from what the sandbox saw: the fake Mackerel's and fake EC2's
 * call logs, the PutEvents recorder's calls, and the DynamoDB counting proxy. A mark taken before a run and a
 * count taken after it give that run's calls exactly (runs are measured one at a time).
 */
import type { Sandbox } from '../sandbox/index.js';
import type { DynamoCounter } from './dynamo-proxy.js';

export interface CallCounts {
  /** `METHOD /path` with ids replaced by `:id` */
  mackerel: Record<string, number>;
  /** by Action */
  ec2: Record<string, number>;
  /** PutEvents calls, and the entries they carried */
  eventBridge: { PutEvents: number; entries: number };
  /** by operation (GetItem, PutItem, Query, Scan, …) */
  dynamodb: Record<string, number>;
  /** response bytes the code under test read, from the fakes' call logs */
  bytes: { mackerel: number; ec2: number };
  /** ECS by Action (DescribeTasks, …) */
  ecs?: Record<string, number>;
}

export interface Mark {
  mackerel: number;
  ec2: number;
  eventBridge: number;
  dynamodb: Record<string, number>;
  ecs?: number;
}

/** `/api/v0/hosts/Ab3dE/retire` → `/api/v0/hosts/:id/retire`; the bulk endpoints keep their names. */
export function mackerelRoute(method: string, path: string): string {
  const route = path
    .replace(/^\/api\/v0\/hosts\/(?!bulk-retire$|bulk-update-statuses$)[^/]+/, '/api/v0/hosts/:id')
    .replace(/^\/api\/v0\/hosts-by-custom-identifier\/[^/]+/, '/api/v0/hosts-by-custom-identifier/:id')
    .replace(/^\/api\/v0\/alerts\/[^/]+\/close$/, '/api/v0/alerts/:id/close');
  return `${method} ${route}`;
}

const bump = (into: Record<string, number>, key: string, n = 1) => {
  into[key] = (into[key] ?? 0) + n;
};

export function mark(sb: Sandbox, dynamo: DynamoCounter): Mark {
  return {
    mackerel: sb.mackerel.calls.length,
    ec2: sb.ec2.calls.length,
    eventBridge: sb.eventBridge.calls.length,
    dynamodb: { ...dynamo.byOperation },
    ecs: sb.ecs.calls.length,
  };
}

/** The calls made since `from`. */
export function countSince(sb: Sandbox, dynamo: DynamoCounter, from: Mark): CallCounts {
  const out: CallCounts = {
    mackerel: {},
    ec2: {},
    eventBridge: { PutEvents: 0, entries: 0 },
    dynamodb: {},
    bytes: { mackerel: 0, ec2: 0 },
  };
  for (const c of sb.mackerel.calls.slice(from.mackerel)) {
    bump(out.mackerel, mackerelRoute(c.method, c.path));
    out.bytes.mackerel += c.bytes ?? 0;
  }
  for (const c of sb.ec2.calls.slice(from.ec2)) {
    bump(out.ec2, c.action);
    out.bytes.ec2 += c.bytes;
  }
  out.ecs = {};
  for (const c of sb.ecs.calls.slice(from.ecs ?? 0)) bump(out.ecs, c.action);
  for (const c of sb.eventBridge.calls.slice(from.eventBridge)) {
    out.eventBridge.PutEvents++;
    out.eventBridge.entries += c.entries;
  }
  for (const [op, n] of Object.entries(dynamo.byOperation)) {
    const d = n - (from.dynamodb[op] ?? 0);
    if (d > 0) out.dynamodb[op] = d;
  }
  return out;
}

export const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Calls per API family, the figure the tables lead with. */
export function totals(c: CallCounts) {
  return {
    mackerel: sum(c.mackerel),
    ec2: sum(c.ec2),
    eventBridge: c.eventBridge.PutEvents,
    dynamodb: sum(c.dynamodb),
  };
}
