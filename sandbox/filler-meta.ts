// Filler for a sandbox host's `meta`: agent-shaped (cpu, memory, block devices, filesystems, kernel) and sized so
// that a whole host is about as large as issue #16 says real ones are (~5.6 KB of JSON a host, ~280 MB at 50,000),
// so that memory and time measured against the sandbox mean something. It is not a copy of any agent's output;
// its strings hold brackets, quotes and non-ASCII on purpose.
import { randomChars, randomInt } from './random.js';

/** Meta of this size makes a sandbox host (id, name, roles, interfaces, cloud…) about 5.6 KB as JSON. */
export const REAL_META_BYTES = 5000;

const HEX = '0123456789abcdef';

function cpu(rng: () => number, i: number): Record<string, unknown> {
  return {
    cache_size: '36608 KB',
    core_id: String(i),
    cores: '2',
    family: '6',
    mhz: (2499 + rng()).toFixed(3),
    model: '85',
    model_name: 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz',
    physical_id: '0',
    stepping: '7',
    vendor_id: 'GenuineIntel',
  };
}

function filesystem(rng: () => number, i: number): [string, Record<string, unknown>] {
  const size = randomInt(rng, 1_000_000, 500_000_000);
  const used = randomInt(rng, 0, size);
  return [
    i === 0 ? '/dev/nvme0n1p1' : `/dev/nvme${i}n1`,
    {
      kb_available: size - used,
      kb_size: size,
      kb_used: used,
      mount: i === 0 ? '/' : `/mnt/data-${i} "[scratch]"`,
      percent_used: `${Math.round((used / size) * 100)}%`,
      type: 'xfs',
    },
  ];
}

/** Agent-like meta of about `bytes` bytes as JSON (never less); `agent-version` and `cloud` are left to the caller. */
export function fillerMeta(rng: () => number, bytes: number = REAL_META_BYTES): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    'agent-name': `mackerel-agent/0.84.0 (Revision ${randomChars(rng, HEX, 7)})`,
    'agent-revision': randomChars(rng, HEX, 7),
    cpu: Array.from({ length: 4 }, (_, i) => cpu(rng, i)),
    kernel: {
      machine: 'x86_64',
      name: 'Linux',
      os: 'GNU/Linux',
      platform_name: 'Amazon Linux',
      platform_version: '2023',
      release: '6.1.61-85.141.amzn2023.x86_64',
      version: '#1 SMP PREEMPT_DYNAMIC Wed Nov  8 00:39:25 UTC 2023',
    },
    memory: {
      active: '1250312kB',
      buffers: '2764kB',
      cached: '1503852kB',
      free: `${randomInt(rng, 100_000, 4_000_000)}kB`,
      inactive: '820132kB',
      swap_free: '0kB',
      swap_total: '0kB',
      total: '7936772kB',
    },
    block_device: {
      nvme0n1: { removable: '0', size: '16777216' },
    },
    note: 'ünïcødé — 日本語 \\ "quoted" {braces} [brackets]',
  };
  const filesystems: Record<string, unknown> = {};
  meta.filesystem = filesystems;
  for (let i = 0; JSON.stringify(meta).length < bytes; i++) {
    const [device, fs] = filesystem(rng, i);
    filesystems[device] = fs;
  }
  return meta;
}
