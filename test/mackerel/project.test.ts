import { describe, expect, it } from 'vitest';
import { projectHost } from '../../shared/mackerel/project.js';

describe('projectHost', () => {
  it('keeps the fields the planner, matching and diagnosis read, and of meta only cloud and agent-version', () => {
    const cloud = { provider: 'ec2', metadata: { 'instance-id': 'i-0abc', 'instance-type': 't3.micro' } };
    const raw = {
      id: 'h1',
      name: 'ip-10-0-1-23',
      displayName: null,
      customIdentifier: 'i-0abc.ec2.amazonaws.com',
      status: 'working',
      memo: 'a long memo',
      roles: { web: ['app'] },
      createdAt: 1_700_000_000,
      isRetired: false,
      size: 'standard',
      meta: { 'agent-version': '0.84.0', cloud, cpu: [{ model_name: 'Xeon' }], filesystem: { '/dev/x': {} } },
      interfaces: [
        { name: 'eth0', ipAddress: '10.0.1.23', ipv4Addresses: ['10.0.1.23/24'], ipv6Addresses: [], macAddress: 'x' },
      ],
    };
    expect(projectHost(raw)).toEqual({
      id: 'h1',
      name: 'ip-10-0-1-23',
      displayName: null,
      customIdentifier: 'i-0abc.ec2.amazonaws.com',
      status: 'working',
      roles: { web: ['app'] },
      createdAt: 1_700_000_000,
      isRetired: false,
      meta: { 'agent-version': '0.84.0', cloud },
      interfaces: [{ name: 'eth0', ipAddress: '10.0.1.23', ipv4Addresses: ['10.0.1.23/24'], ipv6Addresses: [] }],
    });
  });

  it('adds nothing that was absent', () => {
    expect(projectHost({ id: 'h', meta: {} })).toEqual({ id: 'h', meta: {} });
    expect(projectHost({ id: 'h' })).toEqual({ id: 'h' });
  });

  it('passes fields of the wrong shape on as they are, for the validator to name', () => {
    expect(projectHost({ id: 'h', meta: '' })).toEqual({ id: 'h', meta: '' });
    expect(projectHost({ id: 'h', meta: null, interfaces: 'eth0' })).toEqual({ id: 'h', meta: null, interfaces: 'eth0' });
    expect(projectHost({ id: 'h', interfaces: [null, 'x', { name: 'e', extra: 1 }] })).toEqual({
      id: 'h',
      interfaces: [null, 'x', { name: 'e' }],
    });
    for (const odd of [null, 'host', 42, [1, 2]]) expect(projectHost(odd)).toEqual(odd);
  });
});
