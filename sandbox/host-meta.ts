/**
 * What mackerel-agent really registers as a host's `meta` (and `interfaces`) on a Linux EC2 instance, drawn from a
 * seed, so that the sandbox serves host lists of a real organisation's weight (4–6 KB of JSON a host) to the demo,
 * the tests that opt in and every benchmark fleet. Plus `oddHosts()`: the old and odd hosts real organisations keep.
 *
 * Shapes and field names follow the agent's source (read, not copied): mackerelio/mackerel-agent
 *   spec/spec.go                  Collect(): one key per generator (cpu, memory, block_device, filesystem, kernel, cloud)
 *   spec/linux/cpu.go             one entry per logical CPU from gopsutil cpu.Info (which sets Cores to 1 on Linux,
 *                                 shirou/gopsutil cpu/cpu_linux.go); every value a string, cache_size "36608 KB"
 *   spec/linux/memory.go          the /proc/meminfo lines it maps (MemTotal → total, …) as "15434208kB"; the
 *                                 HighTotal/LowTotal family only exists on 32-bit kernels, so not here
 *   spec/linux/block_device.go    /sys/block/<dev>/{size,removable} and device/{model,rev,state,timeout,vendor} when the
 *                                 file exists: an EBS NVMe disk has model and state, a loop device neither
 *   spec/filesystem.go, util/filesystem.go   `df -Pkl` keyed by filesystem name (so the tmpfs lines collapse into one),
 *                                 kb_size / kb_used / kb_available numbers, percent_used "42%", mount
 *   spec/linux/kernel.go          uname -s/-r/-v/-m/-o, platform_name / platform_version (absent from old agents)
 *   spec/cloud.go                 EC2Generator: the eleven IMDS keys, a key IMDS answers non-200 for (no public IP)
 *                                 is ""; agents before late 2016 also asked for public-keys
 *   command/command.go            collectHostParam: agent-version, agent-revision, agent-name "mackerel-agent/<v> (Revision <r>)"
 * mackerelio/mackerel-client-go hosts.go (HostMeta / Interface JSON names) and mackerelio/documents
 * content/api-docs/entry/hosts.md (the host object the API serves). Go's encoding/json sorts map keys, hence the
 * alphabetical order inside cpu entries, memory, kernel, block devices, filesystems and cloud metadata.
 */
import type { FakeHost } from './mackerel-server.js';
import { HEX, mulberry32, pick, randomChars, randomInt } from './random.js';

export interface CpuEntry {
  cache_size: string;
  core_id: string;
  cores: string;
  family: string;
  mhz: string;
  model: string;
  model_name: string;
  physical_id: string;
  stepping: string;
  vendor_id: string;
}

export interface FilesystemEntry {
  kb_available: number;
  kb_size: number;
  kb_used: number;
  mount: string;
  percent_used: string;
}

/** The keys spec/cloud.go's EC2Generator asks IMDS for (`public-keys` too, before agent 0.35). */
export const EC2_METADATA_KEYS = [
  'ami-id',
  'hostname',
  'instance-id',
  'instance-type',
  'local-hostname',
  'local-ipv4',
  'placement/availability-zone',
  'public-hostname',
  'public-ipv4',
  'reservation-id',
  'security-groups',
] as const;
export type Ec2CloudMetadata = Record<(typeof EC2_METADATA_KEYS)[number], string>;

export const MEMORY_KEYS = [
  'active',
  'anon_pages',
  'bounce',
  'buffers',
  'cached',
  'commit_limit',
  'committed_as',
  'dirty',
  'free',
  'inactive',
  'mapped',
  'nfs_unstable',
  'page_tables',
  'slab',
  'slab_reclaimable',
  'slab_unreclaim',
  'swap_cached',
  'swap_free',
  'swap_total',
  'total',
  'vmalloc_chunk',
  'vmalloc_total',
  'vmalloc_used',
  'writeback',
] as const;

export interface AgentHostMeta {
  'agent-revision': string;
  'agent-version': string;
  'agent-name': string;
  block_device: Record<string, Record<string, string>>;
  cpu: CpuEntry[];
  filesystem: Record<string, FilesystemEntry>;
  kernel: Record<string, string>;
  memory: Record<string, string>;
  /** absent when the agent could not reach IMDS (the plain duplicate host of docs/design.md) */
  cloud?: { provider: 'ec2'; metadata: Ec2CloudMetadata };
}

/** What `interfaces` holds for an agent's host (the API adds `ipAddress`, the first IPv4 address). */
export interface AgentInterface {
  name: string;
  ipAddress: string;
  ipv4Addresses: string[];
  ipv6Addresses: string[];
  macAddress: string;
}

/** The instance the agent runs on, as far as the meta shows it. */
export interface AgentInstance {
  instanceId: string;
  privateIpAddress: string;
  privateDnsName: string;
}

/** Releases with their real revisions (`git rev-parse --short` of the tags), newest first; most fleets lag a little. */
export const AGENT_RELEASES: readonly { version: string; revision: string; weight: number }[] = [
  { version: '0.87.0', revision: '92c7c83', weight: 3 },
  { version: '0.86.3', revision: 'd955b78', weight: 5 },
  { version: '0.86.0', revision: '0cf43ae', weight: 3 },
  { version: '0.85.2', revision: '3284f60', weight: 6 },
  { version: '0.85.0', revision: '2ce60fc', weight: 3 },
  { version: '0.84.1', revision: 'ec34cab', weight: 6 },
  { version: '0.83.0', revision: '2b84d84', weight: 3 },
  { version: '0.82.0', revision: 'a70b369', weight: 2 },
  { version: '0.80.0', revision: '5d8a078', weight: 2 },
  { version: '0.77.1', revision: '8bb573e', weight: 1 },
  { version: '0.72.15', revision: '701f73c', weight: 1 },
  { version: '0.69.3', revision: 'feb65be', weight: 1 },
];

export const agentName = (version: string, revision: string) => `mackerel-agent/${version} (Revision ${revision})`;

/** FNV-1a over the parts: a seed per host (or instance) that does not depend on the order hosts are made in. */
export function seedOf(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// --- the machine: what does not change between two agents on the same instance --------------------------------

interface CpuModel {
  vendor_id: string;
  family: string;
  model: string;
  stepping: string;
  cache_size: string;
  model_name: string;
  mhz: string;
}

const INTEL_SKYLAKE: CpuModel = {
  vendor_id: 'GenuineIntel',
  family: '6',
  model: '85',
  stepping: '4',
  cache_size: '33792 KB',
  model_name: 'Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz',
  mhz: '2500.000',
};
const INTEL_CASCADE: CpuModel = {
  vendor_id: 'GenuineIntel',
  family: '6',
  model: '85',
  stepping: '7',
  cache_size: '36608 KB',
  model_name: 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz',
  mhz: '2499.998',
};
const INTEL_CASCADE_C5: CpuModel = {
  ...INTEL_CASCADE,
  cache_size: '36608 KB',
  model_name: 'Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz',
  mhz: '3000.000',
};
const INTEL_ICE_LAKE: CpuModel = {
  vendor_id: 'GenuineIntel',
  family: '6',
  model: '106',
  stepping: '6',
  cache_size: '55296 KB',
  model_name: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz',
  mhz: '2899.970',
};
const AMD_NAPLES: CpuModel = {
  vendor_id: 'AuthenticAMD',
  family: '23',
  model: '1',
  stepping: '2',
  cache_size: '512 KB',
  model_name: 'AMD EPYC 7571',
  mhz: '2199.970',
};
const AMD_MILAN: CpuModel = {
  vendor_id: 'AuthenticAMD',
  family: '25',
  model: '1',
  stepping: '1',
  cache_size: '512 KB',
  model_name: 'AMD EPYC 7R13 Processor',
  mhz: '2649.998',
};

/** x86-64 instance types (every one hyper-threaded: two logical CPUs a core); memory in GiB. */
const INSTANCE_TYPES: readonly { type: string; vcpus: number; memGiB: number; cpu: CpuModel; weight: number }[] = [
  { type: 't3.medium', vcpus: 2, memGiB: 4, cpu: INTEL_SKYLAKE, weight: 6 },
  { type: 't3.large', vcpus: 2, memGiB: 8, cpu: INTEL_CASCADE, weight: 5 },
  { type: 't3a.medium', vcpus: 2, memGiB: 4, cpu: AMD_NAPLES, weight: 2 },
  { type: 'm5.large', vcpus: 2, memGiB: 8, cpu: INTEL_CASCADE, weight: 6 },
  { type: 'c5.xlarge', vcpus: 4, memGiB: 8, cpu: INTEL_CASCADE_C5, weight: 4 },
  { type: 'm5.xlarge', vcpus: 4, memGiB: 16, cpu: INTEL_CASCADE, weight: 5 },
  { type: 'r5.xlarge', vcpus: 4, memGiB: 32, cpu: INTEL_CASCADE, weight: 3 },
  { type: 'm6a.xlarge', vcpus: 4, memGiB: 16, cpu: AMD_MILAN, weight: 2 },
  { type: 'm6i.2xlarge', vcpus: 8, memGiB: 32, cpu: INTEL_ICE_LAKE, weight: 3 },
  { type: 'c6i.2xlarge', vcpus: 8, memGiB: 16, cpu: INTEL_ICE_LAKE, weight: 2 },
  { type: 'r6i.2xlarge', vcpus: 8, memGiB: 64, cpu: INTEL_ICE_LAKE, weight: 1 },
  { type: 'm5.4xlarge', vcpus: 16, memGiB: 64, cpu: INTEL_CASCADE, weight: 1 },
  { type: 'c6a.4xlarge', vcpus: 16, memGiB: 32, cpu: AMD_MILAN, weight: 1 },
];

type Platform = 'al2023' | 'al2' | 'ubuntu';

interface KernelProfile {
  platform: Platform;
  release: string;
  version: string;
  platform_name: string;
  platform_version: string;
  ami: string;
}

const KERNELS: readonly (KernelProfile & { weight: number })[] = [
  {
    platform: 'al2023',
    release: '6.1.109-118.189.amzn2023.x86_64',
    version: '#1 SMP PREEMPT_DYNAMIC Tue Sep 10 08:59:12 UTC 2024',
    platform_name: 'Amazon Linux',
    platform_version: '2023',
    ami: 'ami-0ef60d8ba3e6f1b2a',
    weight: 4,
  },
  {
    platform: 'al2023',
    release: '6.1.128-136.201.amzn2023.x86_64',
    version: '#1 SMP PREEMPT_DYNAMIC Mon Feb 10 20:46:59 UTC 2025',
    platform_name: 'Amazon Linux',
    platform_version: '2023',
    ami: 'ami-072298436ce5cb0c4',
    weight: 3,
  },
  {
    platform: 'al2',
    release: '5.10.225-213.878.amzn2.x86_64',
    version: '#1 SMP Mon Sep 16 18:59:57 UTC 2024',
    platform_name: 'Amazon Linux',
    platform_version: '2',
    ami: 'ami-0b6fe957a0eb4c1b9',
    weight: 3,
  },
  {
    platform: 'ubuntu',
    release: '6.8.0-1015-aws',
    version: '#16~22.04.1-Ubuntu SMP Mon Aug 19 19:38:17 UTC 2024',
    platform_name: 'Ubuntu',
    platform_version: '22.04',
    ami: 'ami-0a0b7b240264a48d7',
    weight: 3,
  },
  {
    platform: 'ubuntu',
    release: '6.8.0-1021-aws',
    version: '#23-Ubuntu SMP Mon Dec  9 23:59:34 UTC 2024',
    platform_name: 'Ubuntu',
    platform_version: '24.04',
    ami: 'ami-0b20f552f63953f0e',
    weight: 2,
  },
];

const SNAPS = ['amazon-ssm-agent/9881', 'core18/2846', 'core20/2434', 'core22/1663', 'snapd/23258', 'lxd/29351', 'aws-cli/1213'];
const SECURITY_GROUPS = ['default', 'web', 'app', 'internal', 'bastion-access', 'monitoring', 'eks-cluster-sg-prod'];

const KIB_PER_GIB = 1024 * 1024;

function weighted<T extends { weight: number }>(rng: () => number, items: readonly T[]): T {
  const total = items.reduce((a, x) => a + x.weight, 0);
  let r = rng() * total;
  for (const x of items) {
    r -= x.weight;
    if (r < 0) return x;
  }
  return items[items.length - 1] as T;
}

const kB = (n: number) => `${Math.round(n)}kB`;

/** One `df -Pkl` line as the agent reports it; xfs keeps no reserve, ext4 keeps 5 % for root. */
function filesystem(rng: () => number, sizeKb: number, mount: string, opts: { usedMin?: number; usedMax?: number; ext4?: boolean } = {}): FilesystemEntry {
  const min = opts.usedMin ?? 0.05;
  const max = opts.usedMax ?? 0.85;
  const used = Math.round(sizeKb * (min + rng() * (max - min)));
  const reserve = opts.ext4 ? Math.round(sizeKb * 0.05) : 0;
  const available = Math.max(0, sizeKb - used - reserve);
  const percent = used + available === 0 ? 0 : Math.ceil((used * 100) / (used + available));
  return { kb_available: available, kb_size: sizeKb, kb_used: used, mount, percent_used: `${percent}%` };
}

function memory(rng: () => number, memGiB: number): Record<string, string> {
  // what the kernel reports of the RAM EC2 gives the instance (firmware and crash kernel take their share)
  const total = Math.round(memGiB * KIB_PER_GIB * (0.955 + rng() * 0.01));
  const free = total * (0.05 + rng() * 0.5);
  const cached = (total - free) * (0.2 + rng() * 0.5);
  const buffers = total * (0.002 + rng() * 0.02);
  const anon = (total - free - cached) * (0.6 + rng() * 0.3);
  const slab = total * (0.02 + rng() * 0.05);
  const reclaimable = slab * (0.5 + rng() * 0.4);
  const m: Record<string, string> = {
    active: kB(anon * 0.8 + cached * 0.5),
    anon_pages: kB(anon),
    bounce: '0kB',
    buffers: kB(buffers),
    cached: kB(cached),
    commit_limit: kB(total / 2),
    committed_as: kB(anon * (1.2 + rng() * 1.5)),
    dirty: kB(rng() * 2000),
    free: kB(free),
    inactive: kB(anon * 0.2 + cached * 0.5),
    mapped: kB(cached * (0.05 + rng() * 0.1)),
    nfs_unstable: '0kB',
    page_tables: kB(total * (0.002 + rng() * 0.004)),
    slab: kB(slab),
    slab_reclaimable: kB(reclaimable),
    slab_unreclaim: kB(slab - reclaimable),
    swap_cached: '0kB',
    swap_free: '0kB',
    swap_total: '0kB',
    total: kB(total),
    vmalloc_chunk: '0kB',
    vmalloc_total: '34359738367kB',
    vmalloc_used: kB(20_000 + rng() * 40_000),
    writeback: '0kB',
  };
  return m;
}

/** An EBS volume (NVMe on Nitro): the device has `model` and `state`, no `rev`, `timeout` or `vendor` file. */
const ebs = (sizeGiB: number) => ({
  model: 'Amazon Elastic Block Store',
  removable: '0',
  size: String(sizeGiB * 2 * KIB_PER_GIB),
  state: 'live',
});

/** A loop device (a snap): only `size` and `removable`, no device directory. */
const loop = (sectors: number) => ({ removable: '0', size: String(sectors) });

const ROOT_GIB = [8, 8, 20, 30, 30, 50, 100];
const PV_GIB = [10, 20, 50, 100, 200];

/** Size of the JSON a host carries beside its meta (ids, roles, status, interfaces): what the size target counts. */
const HOST_OVERHEAD_BYTES = 420;
/** An agent's host with IMDS lands in this range of JSON bytes (meta + the rest), spread across it. */
export const HOST_JSON_BYTES = { min: 4096, max: 6144 } as const;
/** The sizes drawn as targets: inside HOST_JSON_BYTES with a margin, so that the readings' digits cannot leave it. */
const TARGET_BYTES = { min: 4300, max: 5600 } as const;

/**
 * What lies beyond the root volume: a snap's loop device (Ubuntu; snapd keeps two revisions of each), a container
 * runtime's overlay and shm mounts (df -l lists one of each by name), an EKS node's persistent volumes.
 */
type Extra =
  | { kind: 'snap'; snap: string; sectors: number }
  | { kind: 'runtime'; runtime: 'docker' | 'containerd'; container: string; sandbox: string }
  | { kind: 'pv'; gib: number; pod: string; pvc: string };

/** What stays the same on one instance whoever registers it: the hardware, the OS image, the disks. */
interface Machine {
  type: (typeof INSTANCE_TYPES)[number];
  kernel: KernelProfile;
  release: { version: string; revision: string };
  rootGiB: number;
  extras: Extra[];
  zone: string;
  publicIp: string;
  reservationId: string;
  securityGroups: string;
}

const uuid = (rng: () => number) => {
  const h = randomChars(rng, HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
};

/** Bytes an entry adds to a JSON object: `"key":value,` */
const entryBytes = (key: string, value: unknown) => JSON.stringify(key).length + JSON.stringify(value).length + 2;

function machineOf(instance: AgentInstance, agentVersion: string | undefined): Machine {
  const rng = mulberry32(seedOf('machine', instance.instanceId));
  const region = regionOf(instance.privateDnsName);
  const publicIp =
    rng() < 0.15 ? `${pick(rng, [13, 18, 35, 52, 54])}.${randomInt(rng, 0, 255)}.${randomInt(rng, 0, 255)}.${randomInt(rng, 1, 254)}` : '';
  const m: Machine = {
    type: weighted(rng, INSTANCE_TYPES),
    kernel: weighted(rng, KERNELS),
    release: weighted(rng, AGENT_RELEASES),
    rootGiB: pick(rng, ROOT_GIB),
    extras: [],
    zone: `${region}${pick(rng, ['a', 'c', 'd'])}`,
    publicIp,
    reservationId: `r-0${randomChars(rng, HEX, 16)}`,
    securityGroups: [...new Set([pick(rng, SECURITY_GROUPS), pick(rng, SECURITY_GROUPS)])].join('\n'),
  };
  m.release = AGENT_RELEASES.find((r) => r.version === agentVersion) ?? m.release;
  // As many extras as make the host weigh what real ones do; settled on the instance's own shape with IMDS (and
  // readings of its own), so that the host an agent without IMDS leaves on it has the same disks.
  const probe = build(m, instance, mulberry32(seedOf('probe', instance.instanceId)), true);
  const small = m.type.vcpus <= 4 ? TARGET_BYTES.min + 600 : TARGET_BYTES.max;
  let need = randomInt(rng, TARGET_BYTES.min, small) - HOST_OVERHEAD_BYTES - JSON.stringify(probe).length;
  const rootFs = probe.filesystem['/dev/nvme0n1p1'] ?? probe.filesystem['/dev/root'];
  const hex64 = () => randomChars(rng, HEX, 64);
  if (m.kernel.platform === 'ubuntu') {
    for (let k = 0; need > 0 && k < 2 * SNAPS.length; k++) {
      const [name, revision] = (SNAPS[k % SNAPS.length] as string).split('/') as [string, string];
      // the second round is the revision snapd keeps for rollback
      const rev = k < SNAPS.length ? Number(revision) : Number(revision) - randomInt(rng, 20, 300);
      const e: Extra = { kind: 'snap', snap: `${name}/${rev}`, sectors: randomInt(rng, 40_000, 200_000) };
      m.extras.push(e);
      need -= entryBytes(`loop${k}`, loop(e.sectors)) + entryBytes(`/dev/loop${k}`, { ...rootFs, mount: `/snap/${e.snap}` });
    }
  } else if (need > 0) {
    // one runtime entry costs about what two persistent volumes do: a node that needs more is an EKS node
    const eks = need > 450;
    const runtime: Extra = { kind: 'runtime', runtime: eks ? 'containerd' : 'docker', container: hex64(), sandbox: hex64() };
    m.extras.push(runtime);
    need -= 400;
    for (let n = 1; need > 0 && n <= 8; n++) {
      const pv: Extra = { kind: 'pv', gib: pick(rng, PV_GIB), pod: uuid(rng), pvc: uuid(rng) };
      m.extras.push(pv);
      need -= entryBytes(`nvme${n}n1`, ebs(pv.gib)) + entryBytes(`/dev/nvme${n}n1`, { ...rootFs, mount: pvMount(pv) });
    }
  }
  return m;
}

const pvMount = (pv: { pod: string; pvc: string }) =>
  `/var/lib/kubelet/pods/${pv.pod}/volumes/kubernetes.io~csi/pvc-${pv.pvc}/mount`;

/** The meta of `m` with readings drawn from `rng`. */
function build(m: Machine, instance: AgentInstance, rng: () => number, imds: boolean): AgentHostMeta {
  const it = m.type;
  const cpu: CpuEntry[] = [];
  for (let i = 0; i < it.vcpus; i++) {
    const c = it.cpu;
    // Linux numbers the first thread of every core first, then their siblings.
    cpu.push({
      cache_size: c.cache_size,
      core_id: String(i % (it.vcpus / 2)),
      cores: '1',
      family: c.family,
      mhz: c.mhz,
      model: c.model,
      model_name: c.model_name,
      physical_id: '0',
      stepping: c.stepping,
      vendor_id: c.vendor_id,
    });
  }

  const memKb = it.memGiB * KIB_PER_GIB;
  const ubuntu = m.kernel.platform === 'ubuntu';
  const devices: Record<string, Record<string, string>> = { nvme0n1: ebs(m.rootGiB) };
  const fs: Record<string, FilesystemEntry> = {};
  const rootKb = Math.round(m.rootGiB * KIB_PER_GIB * 0.995);
  if (ubuntu) {
    fs['/dev/root'] = filesystem(rng, rootKb, '/', { usedMin: 0.2, usedMax: 0.8, ext4: true });
    fs['/dev/nvme0n1p15'] = filesystem(rng, 106_832, '/boot/efi', { usedMin: 0.05, usedMax: 0.07 });
  } else {
    fs['/dev/nvme0n1p1'] = filesystem(rng, rootKb, '/', { usedMin: 0.2, usedMax: 0.8 });
    if (m.kernel.platform === 'al2023') {
      fs['/dev/nvme0n1p128'] = filesystem(rng, 10_202, '/boot/efi', { usedMin: 0.12, usedMax: 0.14 });
    }
  }
  // df -l lists devtmpfs and every tmpfs mount; keyed by name, the last tmpfs line (a login's /run/user) wins
  const devKb = m.kernel.platform === 'al2' ? Math.round(memKb / 2) : 4096;
  fs.devtmpfs = { kb_available: devKb, kb_size: devKb, kb_used: 0, mount: '/dev', percent_used: '0%' };
  fs.tmpfs = filesystem(rng, Math.round(memKb / 10), '/run/user/1000', { usedMin: 0, usedMax: 0.001 });
  let loops = 0;
  let volumes = 1;
  for (const e of m.extras) {
    if (e.kind === 'snap') {
      const kb = Math.ceil(e.sectors / 2);
      devices[`loop${loops}`] = loop(e.sectors);
      fs[`/dev/loop${loops}`] = { kb_available: 0, kb_size: kb, kb_used: kb, mount: `/snap/${e.snap}`, percent_used: '100%' };
      loops++;
    } else if (e.kind === 'runtime') {
      const root = (fs['/dev/nvme0n1p1'] ?? fs['/dev/root']) as FilesystemEntry;
      const docker = e.runtime === 'docker';
      fs.overlay = {
        ...root,
        mount: docker
          ? `/var/lib/docker/overlay2/${e.container}/merged`
          : `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${e.container}/rootfs`,
      };
      fs.shm = {
        kb_available: 65_536,
        kb_size: 65_536,
        kb_used: 0,
        mount: docker
          ? `/var/lib/docker/containers/${e.container}/mounts/shm`
          : `/run/containerd/io.containerd.grpc.v1.cri/sandboxes/${e.sandbox}/shm`,
        percent_used: '0%',
      };
    } else {
      devices[`nvme${volumes}n1`] = ebs(e.gib);
      fs[`/dev/nvme${volumes}n1`] = filesystem(rng, Math.round(e.gib * KIB_PER_GIB * 0.98), pvMount(e), { ext4: true });
      volumes++;
    }
  }

  const meta: AgentHostMeta = {
    'agent-revision': m.release.revision,
    'agent-version': m.release.version,
    'agent-name': agentName(m.release.version, m.release.revision),
    block_device: sorted(devices),
    cpu,
    filesystem: sorted(fs),
    kernel: {
      machine: 'x86_64',
      name: 'Linux',
      os: 'GNU/Linux',
      platform_name: m.kernel.platform_name,
      platform_version: m.kernel.platform_version,
      release: m.kernel.release,
      version: m.kernel.version,
    },
    memory: memory(rng, it.memGiB),
  };
  if (imds) {
    const region = regionOf(instance.privateDnsName);
    meta.cloud = {
      provider: 'ec2',
      metadata: {
        'ami-id': m.kernel.ami,
        hostname: instance.privateDnsName,
        'instance-id': instance.instanceId,
        'instance-type': it.type,
        'local-hostname': instance.privateDnsName,
        'local-ipv4': instance.privateIpAddress,
        'placement/availability-zone': m.zone,
        'public-hostname': m.publicIp ? `ec2-${m.publicIp.replace(/\./g, '-')}.${region}.compute.amazonaws.com` : '',
        'public-ipv4': m.publicIp,
        'reservation-id': m.reservationId,
        // IMDS answers the names, one a line
        'security-groups': m.securityGroups,
      },
    };
  }
  return meta;
}

/**
 * The `meta` mackerel-agent registers on this instance. The machine (instance type, CPUs, OS, disks) follows the
 * instance id alone, so the two hosts an agent without IMDS leaves behind describe the same machine; the readings
 * (free memory, disk use) follow `seed`. `imds: false` drops `cloud`, as the agent does when IMDS is unreachable
 * (such a host weighs about 650 bytes less than HOST_JSON_BYTES). The result is deep-frozen: nothing changes a
 * registered meta in place, and the sandbox caches its JSON.
 */
export function agentHostMeta(opts: {
  seed: number;
  instance: AgentInstance;
  imds?: boolean;
  /** an agent release from AGENT_RELEASES, or drawn */
  agentVersion?: string;
}): AgentHostMeta {
  const machine = machineOf(opts.instance, opts.agentVersion);
  const readings = mulberry32(seedOf('readings', opts.seed, opts.instance.instanceId));
  return deepFreeze(build(machine, opts.instance, readings, opts.imds !== false));
}

/** The agent's network interfaces on the instance (no loopback), with the `ipAddress` the API adds. */
export function agentInterfaces(opts: { seed: number; instance: AgentInstance }): AgentInterface[] {
  const machine = mulberry32(seedOf('nic', opts.instance.instanceId));
  const octets = [Number.parseInt(`0${pick(machine, ['2', '6', 'a', 'e'])}`, 16), ...Array.from({ length: 5 }, () => randomInt(machine, 0, 255))];
  const hex2 = (n: number) => n.toString(16).padStart(2, '0');
  const mac = octets.map(hex2).join(':');
  const ip = opts.instance.privateIpAddress;
  return [
    {
      name: machine() < 0.4 ? 'eth0' : 'ens5',
      ipAddress: ip,
      ipv4Addresses: [ip],
      ipv6Addresses: [linkLocal(octets)],
      macAddress: mac,
    },
  ];
}

/** The link-local IPv6 address the kernel derives from a MAC (modified EUI-64). */
function linkLocal(mac: number[]): string {
  const [m0, m1, m2, m3, m4, m5] = mac as [number, number, number, number, number, number];
  const groups = [((m0 ^ 2) << 8) | m1, (m2 << 8) | 0xff, 0xfe00 | m3, (m4 << 8) | m5];
  return `fe80::${groups.map((g) => g.toString(16)).join(':')}`;
}

function regionOf(privateDnsName: string): string {
  if (privateDnsName.endsWith('.ec2.internal')) return 'us-east-1';
  const m = /\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.compute\.internal$/.exec(privateDnsName);
  return m?.[1] ?? 'ap-northeast-1';
}

/** encoding/json writes a map's keys sorted. */
function sorted<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

// --- odd hosts ----------------------------------------------------------------------------------------------

export type HostInput = Partial<FakeHost> & { name: string };

export interface OddHost {
  /** what is odd about it, for tables and test names */
  note: string;
  /** its own fields have the wrong shape: the reconciler must quarantine it (report it in unreadableHosts) */
  malformed: boolean;
  /** the field that is wrong, when malformed */
  field?: string;
  host: HostInput;
}

/**
 * The old and odd hosts real organisations keep, none of them linked to an instance of this account (their names and
 * addresses fit none): the reconciler must leave every one alone, and list the malformed ones as unreadable.
 * Some are not FakeHosts at all (a `meta` that is a string, `interfaces: null`, a field nobody knows): the casts
 * below say so on purpose, because that is what the API serves.
 */
export function oddHosts(opts: { seed: number; nowS: number; malformed: boolean }): OddHost[] {
  const rng = mulberry32(seedOf('odd', opts.seed));
  const id = () => randomChars(rng, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 11);
  const yearsAgo = (y: number) => opts.nowS - Math.round(y * 365 * 86_400) - randomInt(rng, 0, 86_400 * 30);
  const lan = (n: number) => [{ name: 'eth0', ipAddress: `192.168.${n}.${randomInt(rng, 2, 250)}` }];
  const old = { version: '0.30.2', revision: 'b4bc51b' };
  const oldInstanceId = `i-${randomChars(rng, HEX, 8)}`;
  const hosts: OddHost[] = [
    {
      note: 'no displayName, a plain agent host on premises',
      malformed: false,
      host: { id: id(), name: 'build-runner-03', status: 'working', createdAt: yearsAgo(3), roles: { ci: ['runner'] }, meta: { 'agent-version': '0.77.1' }, interfaces: lan(10) },
    },
    {
      note: 'interfaces: null',
      malformed: false,
      host: { id: id(), name: 'ops-nas-01', displayName: 'NAS (office)', status: 'working', memo: 'ask ops before touching', createdAt: yearsAgo(5), roles: { ops: ['nas'] }, meta: { 'agent-version': '0.56.1' }, interfaces: null as unknown as FakeHost['interfaces'] },
    },
    {
      note: 'meta: {} (registered through the API, no agent)',
      malformed: false,
      host: { id: id(), name: 'external-probe', status: 'standby', createdAt: yearsAgo(2), roles: { ops: ['probe'] }, meta: {}, interfaces: [] },
    },
    {
      note: 'roles: {}',
      malformed: false,
      host: { id: id(), name: 'forgotten-test-box', status: 'working', createdAt: yearsAgo(1), roles: {}, meta: { 'agent-version': '0.82.0' }, interfaces: lan(20) },
    },
    {
      note: 'a field the reconciler does not know',
      malformed: false,
      host: { id: id(), name: 'kiosk-lobby', status: 'maintenance', createdAt: yearsAgo(2), roles: { office: ['kiosk'] }, meta: { 'agent-version': '0.80.0' }, interfaces: lan(30), futureField: { since: '2030', items: [1, 2] } } as HostInput,
    },
    {
      note: 'agent 0.30.2 (2016) on an old EC2 instance of another account',
      malformed: false,
      host: {
        id: id(),
        name: 'ip-172-31-12-40',
        status: 'working',
        createdAt: yearsAgo(9),
        roles: { legacy: ['cron'] },
        meta: {
          'agent-name': agentName(old.version, old.revision),
          'agent-revision': old.revision,
          'agent-version': old.version,
          block_device: { xvda: { removable: '0', size: '16777216' } },
          cpu: [{ cache_size: '30720 KB', core_id: '0', cores: '1', family: '6', mhz: '2400.084', model: '63', model_name: 'Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz', physical_id: '0', stepping: '2', vendor_id: 'GenuineIntel' }],
          filesystem: { '/dev/xvda1': { kb_available: 3_203_172, kb_size: 8_123_812, kb_used: 4_820_392, mount: '/', percent_used: '61%' } },
          kernel: { machine: 'x86_64', name: 'Linux', os: 'GNU/Linux', release: '4.4.5-15.26.amzn1.x86_64', version: '#1 SMP Wed Mar 16 17:15:34 UTC 2016' },
          memory: { total: '1019452kB', free: '81232kB' },
          cloud: {
            provider: 'ec2',
            metadata: {
              'ami-id': 'ami-383c1956',
              hostname: 'ip-172-31-12-40.us-west-2.compute.internal',
              'instance-id': oldInstanceId,
              'instance-type': 't2.micro',
              'local-hostname': 'ip-172-31-12-40.us-west-2.compute.internal',
              'local-ipv4': '172.31.12.40',
              'placement/availability-zone': 'us-west-2b',
              'public-hostname': '',
              'public-ipv4': '',
              'public-keys': '0=ops-2016',
              'reservation-id': `r-${randomChars(rng, HEX, 8)}`,
              'security-groups': 'default',
            },
          },
        },
        interfaces: [{ name: 'eth0', ipAddress: '172.31.12.40' }],
      },
    },
  ];
  if (opts.malformed) {
    hosts.push(
      {
        note: 'meta: "" (an empty string)',
        malformed: true,
        field: 'meta',
        host: { id: id(), name: 'legacy-db-01', status: 'working', createdAt: yearsAgo(8), roles: { legacy: ['db'] }, meta: '' as unknown as FakeHost['meta'], interfaces: lan(40) },
      },
      {
        note: 'meta.cloud is not an object',
        malformed: true,
        field: 'meta.cloud',
        host: { id: id(), name: 'legacy-web-02', status: 'standby', createdAt: yearsAgo(6), roles: { legacy: ['web'] }, meta: { 'agent-version': '0.47.3', cloud: 'ec2' } as unknown as FakeHost['meta'], interfaces: lan(50) },
      },
    );
  }
  return hosts;
}
