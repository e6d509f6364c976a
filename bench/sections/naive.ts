/**
 * The script people write by hand: list the hosts, and for each host that names an EC2 instance ask EC2 about
 * that one instance; retire the host when the instance is terminated (or unknown). It fixes terminations only:
 * no stopped instances, no duplicates, no ownership check, no re-check, no record of what it did.
 * It runs against a fresh copy of the same drifted fleet, with the real EC2 SDK client and plain fetch.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startSandbox } from '../../sandbox/index.js';
import { mapLimit } from '../../shared/util/concurrency.js';
import { generateFleet, seedNow } from '../fleet.js';
import { mackerelRoute } from '../calls.js';
import type { NaiveResult } from '../results.js';

export const NAIVE_CONCURRENCY = 16;

type Data = Omit<NaiveResult, 'ranAt' | 'command' | 'quick' | 'seed' | 'machine'>;

interface ListedHost {
  id: string;
  customIdentifier?: string | null;
  meta?: { cloud?: { provider?: string; metadata?: Record<string, unknown> } | null };
}

function instanceIdOf(h: ListedHost): string | undefined {
  const ci = h.customIdentifier?.toLowerCase();
  if (ci?.endsWith('.ec2.amazonaws.com')) return ci.slice(0, -'.ec2.amazonaws.com'.length);
  const id = h.meta?.cloud?.provider === 'ec2' ? h.meta.cloud.metadata?.['instance-id'] : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The hand-written loop itself. */
export async function naiveReconcile(opts: {
  apiBase: string;
  apiKey: string;
  ec2: EC2Client;
  concurrency: number;
}): Promise<{ retired: string[] }> {
  const headers = { 'X-Api-Key': opts.apiKey, 'Content-Type': 'application/json' };
  // All four statuses, like the reconciler: the API's default (working, standby) would miss powered-off hosts.
  const res = await fetch(
    `${opts.apiBase}/api/v0/hosts?status=working&status=standby&status=maintenance&status=poweroff`,
    { headers },
  );
  if (!res.ok) throw new Error(`GET /api/v0/hosts answered ${res.status}`);
  const { hosts } = (await res.json()) as { hosts: ListedHost[] };
  const retired: string[] = [];
  await mapLimit(hosts, opts.concurrency, async (h) => {
    const instanceId = instanceIdOf(h);
    if (instanceId === undefined) return;
    let gone: boolean;
    try {
      const out = await opts.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      gone = out.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'terminated';
    } catch (e) {
      if ((e as { name?: string }).name !== 'InvalidInstanceID.NotFound') throw e;
      gone = true;
    }
    if (!gone) return;
    const r = await fetch(`${opts.apiBase}/api/v0/hosts/${h.id}/retire`, { method: 'POST', headers, body: '{}' });
    if (!r.ok) throw new Error(`POST /api/v0/hosts/${h.id}/retire answered ${r.status}`);
    retired.push(h.id);
  });
  return { retired };
}

export async function naiveBench(opts: { size: number; seed: number; latencyMs: number }): Promise<Data> {
  const fleet = generateFleet({ size: opts.size, seed: opts.seed });
  const sb = await startSandbox({ latencyMs: opts.latencyMs, seed: opts.seed });
  const ec2 = new EC2Client({
    region: fleet.region,
    endpoint: sb.env.AWS_ENDPOINT_URL_EC2,
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  try {
    seedNow(fleet, sb);
    const t0 = performance.now();
    const { retired } = await naiveReconcile({
      apiBase: sb.mackerel.url,
      apiKey: sb.mackerel.apiKey,
      ec2,
      concurrency: NAIVE_CONCURRENCY,
    });
    const wallMs = performance.now() - t0;
    const mackerel: Record<string, number> = {};
    for (const c of sb.mackerel.calls) {
      const k = mackerelRoute(c.method, c.path);
      mackerel[k] = (mackerel[k] ?? 0) + 1;
    }
    const ec2Calls: Record<string, number> = {};
    for (const c of sb.ec2.calls) ec2Calls[c.action] = (ec2Calls[c.action] ?? 0) + 1;
    const problems: string[] = [];
    // The odd hosts beside the fleet include one of another account's instance, unknown to this EC2: the loop
    // retires it too (it checks no ownership). Only the fleet's own retirements are the work it was asked for.
    const fleetHosts = new Set(fleet.hosts.map((h) => h.id));
    const ours = retired.filter((id) => fleetHosts.has(id)).length;
    if (ours !== fleet.expected.retirements) {
      problems.push(`the naive loop retired ${ours} of the fleet's hosts, the fleet has ${fleet.expected.retirements} to retire`);
    }
    return {
      problems,
      latencyMs: opts.latencyMs,
      concurrency: NAIVE_CONCURRENCY,
      fleet: { instances: fleet.instances.length, hosts: fleet.hosts.length },
      calls: {
        mackerel,
        ec2: ec2Calls,
        total: sb.mackerel.calls.length + sb.ec2.calls.length,
      },
      retired: retired.length,
      retiredForeign: retired.length - ours,
      wallMs,
    };
  } finally {
    ec2.destroy();
    await sb.stop();
  }
}
