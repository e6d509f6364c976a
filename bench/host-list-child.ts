/**
 * The two processes of the host-list benchmark (run by bench/host-list.ts as a bundle under plain `node`):
 *
 *   node host-list-child.mjs serve <hosts> <seed>           a FakeMackerel with real-sized hosts; prints its URL
 *   node --expose-gc host-list-child.mjs measure <old|new> <url> <apiKey>
 *                                                            reads the list once; prints one JSON line
 *
 * `old` is what the client did before issue #16: the whole body as text, JSON.parse, every host validated
 * (without its 10 s timeout, so that its memory can be measured at all). `new` is `MackerelClient.listHosts`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fillerMeta } from '../sandbox/filler-meta.js';
import { FakeMackerel } from '../sandbox/mackerel-server.js';
import { mulberry32 } from '../sandbox/random.js';
import { MackerelClient } from '../shared/mackerel/client.js';
import { Host } from '../shared/mackerel/schemas.js';

const MB = 2 ** 20;
/** Distinct filler metas the server shares between hosts: the bytes on the wire are the same, its heap small. */
const DISTINCT_METAS = 256;

export interface MeasureOutput {
  mode: 'old' | 'new';
  hosts: number;
  bytes: number;
  wallMs: number;
  /** old only: headers and text, the part the old 10 s timeout bounded */
  textMs?: number;
  rssBeforeMB: number;
  peakRssMB: number;
  /** heap still held by the result after a full GC */
  retainedHeapMB: number;
}

/** Peak resident set of this process image (VmHWM; getrusage's maxrss would include the parent's). */
function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function serve(count: number, seed: number): Promise<void> {
  const rng = mulberry32(seed);
  const fake = new FakeMackerel({ rng });
  const metas = Array.from({ length: DISTINCT_METAS }, () => fillerMeta(rng));
  for (let i = 0; i < count; i++) {
    const instanceId = `i-${i.toString(16).padStart(17, '0')}`;
    fake.addHost({
      name: `ip-10-${(i >> 16) & 255}-${(i >> 8) & 255}-${i & 255}.ap-northeast-1.compute.internal`,
      customIdentifier: `${instanceId}.ec2.amazonaws.com`,
      roles: { shop: ['web'] },
      meta: {
        ...metas[i % DISTINCT_METAS],
        'agent-version': '0.84.0',
        cloud: { provider: 'ec2', metadata: { 'instance-id': instanceId, 'instance-type': 'm5.large' } },
      },
      interfaces: [{ name: 'eth0', ipAddress: `10.0.${(i >> 8) & 255}.${i & 255}` }],
    });
  }
  const url = await fake.start();
  console.log(JSON.stringify({ url, apiKey: fake.apiKey }));
}

const OldHostsResponse = z.object({ hosts: z.array(Host) });

async function readOld(url: string, apiKey: string) {
  const started = performance.now();
  const res = await fetch(`${url}/api/v0/hosts?status=working&status=standby&status=maintenance&status=poweroff`, {
    headers: { 'X-Api-Key': apiKey, Accept: 'application/json' },
  });
  const text = await res.text();
  const textMs = performance.now() - started;
  const bytes = Buffer.byteLength(text);
  const hosts = OldHostsResponse.parse(JSON.parse(text)).hosts;
  return { hosts, bytes, textMs };
}

async function measure(mode: 'old' | 'new', url: string, apiKey: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const read =
    mode === 'old' ? await readOld(url, apiKey) : await new MackerelClient({ apiKey, apiBase: url }).listHosts();
  const wallMs = performance.now() - started;
  const peak = peakRssBytes();
  gc();
  const retained = process.memoryUsage().heapUsed - heapBefore;
  const out: MeasureOutput = {
    mode,
    hosts: read.hosts.length,
    bytes: read.bytes,
    wallMs: Math.round(wallMs),
    ...('textMs' in read ? { textMs: Math.round(read.textMs) } : {}),
    rssBeforeMB: Math.round(rssBefore / MB),
    peakRssMB: Math.round(peak / MB),
    retainedHeapMB: Math.round(retained / MB),
  };
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const [role, a, b, c] = process.argv.slice(2);
  if (role === 'serve') return serve(Number(a), Number(b));
  if (role === 'measure' && (a === 'old' || a === 'new') && b && c) return measure(a, b, c);
  throw new Error('usage: host-list-child serve <hosts> <seed> | measure <old|new> <url> <apiKey>');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
