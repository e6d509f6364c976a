/**
 * The agent meta generator: the field names mackerel-agent's spec generators use (spec/linux/*.go, spec/filesystem.go,
 * spec/cloud.go, command/command.go), the weight of a real host (4–6 KB of JSON), and seeded determinism.
 */
import { describe, expect, it } from 'vitest';
import {
  AGENT_RELEASES,
  agentHostMeta,
  agentInterfaces,
  EC2_METADATA_KEYS,
  HOST_JSON_BYTES,
  MEMORY_KEYS,
  oddHosts,
  seedOf,
} from '../../sandbox/host-meta.js';
import { Host } from '../../shared/mackerel/schemas.js';

const SEED = Number(process.env.TEST_SEED ?? 424_243);
console.log(`host-meta.test seed=${SEED}`);

function instance(i: number) {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) | 4}`;
  return {
    instanceId: `i-0${seedOf(SEED, i).toString(16).padStart(8, '0')}${(i * 7919).toString(16).padStart(8, '0')}`,
    privateIpAddress: ip,
    privateDnsName: `ip-${ip.replace(/\./g, '-')}.ap-northeast-1.compute.internal`,
  };
}

/** A host as the sandbox serves it for an integration host (the fields beside meta included). */
function servedHost(i: number) {
  const inst = instance(i);
  const agent = { seed: seedOf(SEED, i), instance: inst };
  return {
    id: `Host${String(i).padStart(7, '0')}`,
    name: inst.privateDnsName,
    customIdentifier: `${inst.instanceId}.ec2.amazonaws.com`,
    status: 'working',
    memo: '',
    roles: { shop: ['web'] },
    isRetired: false,
    createdAt: 1_763_700_000,
    meta: agentHostMeta(agent),
    interfaces: agentInterfaces(agent),
    size: 'standard',
  };
}

const SAMPLE = Array.from({ length: 400 }, (_, i) => servedHost(i));

describe('agentHostMeta: what mackerel-agent registers on a Linux EC2 instance', () => {
  it('names its fields as the agent does (HostMeta of mackerel-client-go)', () => {
    for (const h of SAMPLE) {
      expect(Object.keys(h.meta).sort()).toEqual(
        ['agent-name', 'agent-revision', 'agent-version', 'block_device', 'cloud', 'cpu', 'filesystem', 'kernel', 'memory'].sort(),
      );
      expect(h.meta['agent-name']).toBe(`mackerel-agent/${h.meta['agent-version']} (Revision ${h.meta['agent-revision']})`);
      expect(h.meta['agent-revision']).toMatch(/^[0-9a-f]{7}$/);
    }
  });

  it('has one cpu entry per logical CPU, 2 to 16, with the keys of spec/linux/cpu.go, every value a string', () => {
    const counts = new Set<number>();
    for (const h of SAMPLE) {
      counts.add(h.meta.cpu.length);
      expect(h.meta.cpu.length).toBeGreaterThanOrEqual(2);
      expect(h.meta.cpu.length).toBeLessThanOrEqual(16);
      for (const c of h.meta.cpu) {
        expect(Object.keys(c).sort()).toEqual(
          ['cache_size', 'core_id', 'cores', 'family', 'mhz', 'model', 'model_name', 'physical_id', 'stepping', 'vendor_id'],
        );
        for (const v of Object.values(c)) expect(typeof v).toBe('string');
        expect(c.cores).toBe('1'); // gopsutil's cpu.Info on Linux
        expect(c.cache_size).toMatch(/^\d+ KB$/);
      }
    }
    expect([...counts].sort((a, b) => a - b)).toEqual([2, 4, 8, 16]);
  });

  it('reports memory as spec/linux/memory.go maps /proc/meminfo ("…kB" strings, 64-bit keys only)', () => {
    for (const h of SAMPLE) {
      expect(Object.keys(h.meta.memory).sort()).toEqual([...MEMORY_KEYS].sort());
      for (const v of Object.values(h.meta.memory)) expect(v).toMatch(/^\d+kB$/);
      const kb = (k: string) => Number.parseInt(h.meta.memory[k] as string, 10);
      expect(kb('free')).toBeLessThan(kb('total'));
    }
  });

  it('lists block devices and filesystems as /sys/block and df -Pkl show them, several of each', () => {
    for (const h of SAMPLE) {
      const devices = Object.entries(h.meta.block_device);
      expect(devices.length).toBeGreaterThanOrEqual(1);
      for (const [name, d] of devices) {
        expect(name).toMatch(/^(nvme\d+n1|loop\d+)$/);
        expect(Object.keys(d)).toEqual(expect.arrayContaining(['removable', 'size']));
        for (const k of Object.keys(d)) expect(['model', 'removable', 'rev', 'size', 'state', 'timeout', 'vendor']).toContain(k);
        expect(d.size).toMatch(/^\d+$/);
      }
      const filesystems = Object.values(h.meta.filesystem);
      expect(filesystems.length).toBeGreaterThanOrEqual(3);
      for (const f of filesystems) {
        expect(Object.keys(f).sort()).toEqual(['kb_available', 'kb_size', 'kb_used', 'mount', 'percent_used']);
        expect(typeof f.kb_size).toBe('number');
        expect(f.percent_used).toMatch(/^\d+%$/);
      }
      expect(filesystems.map((f) => f.mount)).toContain('/');
    }
  });

  it('has the kernel of spec/linux/kernel.go and the eleven IMDS keys of spec/cloud.go', () => {
    for (const h of SAMPLE) {
      expect(Object.keys(h.meta.kernel).sort()).toEqual(['machine', 'name', 'os', 'platform_name', 'platform_version', 'release', 'version']);
      expect(h.meta.cloud?.provider).toBe('ec2');
      const md = h.meta.cloud?.metadata as Record<string, string>;
      expect(Object.keys(md).sort()).toEqual([...EC2_METADATA_KEYS].sort());
      expect(md['instance-id']).toBe(h.customIdentifier.replace('.ec2.amazonaws.com', ''));
      expect(md['local-ipv4']).toBe(h.interfaces[0]?.ipAddress);
      expect(md['local-hostname']).toBe(h.name);
      expect(md['placement/availability-zone']).toMatch(/^ap-northeast-1[acd]$/);
    }
  });

  it(`weighs ${HOST_JSON_BYTES.min}–${HOST_JSON_BYTES.max} bytes of JSON a host, spread across the range`, () => {
    const sizes = SAMPLE.map((h) => Buffer.byteLength(JSON.stringify(h)));
    const min = Math.min(...sizes);
    const max = Math.max(...sizes);
    console.log(`host JSON over ${sizes.length} hosts: min ${min}, mean ${Math.round(sizes.reduce((a, b) => a + b) / sizes.length)}, max ${max} bytes`);
    expect(min).toBeGreaterThanOrEqual(HOST_JSON_BYTES.min);
    expect(max).toBeLessThanOrEqual(HOST_JSON_BYTES.max);
    expect(max - min).toBeGreaterThan(1000);
  });

  it('is the same for the same seed and instance, and differs for another', () => {
    const a = agentHostMeta({ seed: 7, instance: instance(1) });
    expect(agentHostMeta({ seed: 7, instance: instance(1) })).toEqual(a);
    expect(agentHostMeta({ seed: 8, instance: instance(1) })).not.toEqual(a);
    expect(agentHostMeta({ seed: 7, instance: instance(2) })).not.toEqual(a);
  });

  it('describes the same machine for both hosts of one instance; without IMDS there is no cloud', () => {
    const withImds = agentHostMeta({ seed: 1, instance: instance(5) });
    const without = agentHostMeta({ seed: 2, instance: instance(5), imds: false });
    expect(without.cloud).toBeUndefined();
    expect(without.cpu).toEqual(withImds.cpu);
    expect(without.kernel).toEqual(withImds.kernel);
    expect(Object.keys(without.block_device)).toEqual(Object.keys(withImds.block_device));
    expect(without.memory.total).not.toBeUndefined();
  });

  it('pins an agent release when asked, and is frozen', () => {
    const m = agentHostMeta({ seed: 3, instance: instance(9), agentVersion: '0.69.3' });
    expect(m['agent-version']).toBe('0.69.3');
    expect(m['agent-revision']).toBe(AGENT_RELEASES.find((r) => r.version === '0.69.3')?.revision);
    expect(Object.isFrozen(m) && Object.isFrozen(m.cpu[0]) && Object.isFrozen(m.memory)).toBe(true);
  });

  it('passes the reconciler\'s host schema, which keeps the whole meta', () => {
    const parsed = Host.parse(JSON.parse(JSON.stringify(SAMPLE[0])));
    expect(parsed.meta).toEqual(SAMPLE[0]?.meta);
  });
});

describe('oddHosts: the old and odd hosts real organisations keep', () => {
  const nowS = 1_763_700_000;

  it('keeps the malformed ones out unless asked, and says which field is wrong', () => {
    const tame = oddHosts({ seed: SEED, nowS, malformed: false });
    const all = oddHosts({ seed: SEED, nowS, malformed: true });
    expect(tame.every((o) => !o.malformed)).toBe(true);
    const bad = all.filter((o) => o.malformed);
    expect(bad.map((o) => o.field).sort()).toEqual(['meta', 'meta.cloud']);
    expect(all.slice(0, tame.length)).toEqual(tame);
    expect(new Set(all.map((o) => o.host.id)).size).toBe(all.length);
  });

  it('has every oddity the issue names, and the well-formed ones pass the host schema', () => {
    const all = oddHosts({ seed: SEED, nowS, malformed: true });
    const hosts = all.map((o) => o.host as Record<string, unknown>);
    expect(hosts.some((h) => h.meta === '')).toBe(true);
    expect(hosts.some((h) => !('displayName' in h))).toBe(true);
    expect(hosts.some((h) => h.interfaces === null)).toBe(true);
    expect(hosts.some((h) => JSON.stringify(h.meta) === '{}')).toBe(true);
    expect(hosts.some((h) => JSON.stringify(h.roles) === '{}')).toBe(true);
    expect(hosts.some((h) => 'futureField' in h)).toBe(true);
    expect(hosts.some((h) => (h.meta as Record<string, unknown>)?.['agent-version'] === '0.30.2')).toBe(true);
    expect(hosts.some((h) => typeof (h.meta as Record<string, unknown>)?.cloud === 'string')).toBe(true);
    for (const o of all) {
      const parsed = Host.safeParse({ memo: '', isRetired: false, ...o.host });
      expect(parsed.success, o.note).toBe(!o.malformed);
    }
  });

  it('is the same for the same seed', () => {
    expect(oddHosts({ seed: 1, nowS, malformed: true })).toEqual(oddHosts({ seed: 1, nowS, malformed: true }));
  });
});
