/** What a sighting does to an instance record: pure, so a table is enough. */
import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../shared/reconcile/types.js';
import { nextRecord, type Sighting } from '../../shared/reconcile/record.js';

const NOW_S = 1_795_262_400;
const existing = (state: InstanceRecord['state'], over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: 'i-0123456789abcdef0',
  region: 'ap-northeast-1',
  accountId: '123456789012',
  state,
  stateTime: NOW_S - 60,
  version: 4,
  firstSeenAt: NOW_S - 3600,
  lastSeenAt: NOW_S - 60,
  ignored: false,
  privateDnsName: 'ip-10-0-0-1.ap-northeast-1.compute.internal',
  privateIpAddress: '10.0.0.1',
  launchTime: (NOW_S - 7200) * 1000,
  linkedHostIds: [],
  ...over,
});
const sighting = (state: Sighting['state'], stateTime = NOW_S): Sighting => ({
  instanceId: 'i-0123456789abcdef0',
  region: 'ap-northeast-1',
  accountId: '123456789012',
  state,
  stateTime,
  ignored: false,
});

describe('nextRecord: the version keys each stop/start cycle once', () => {
  it.each([
    ['running', 'stopping', 5],
    ['running', 'stopped', 5],
    ['stopping', 'stopped', 4], // one stop: both states must key the same poweroff (found by the chaos suite)
    ['stopped', 'pending', 5],
    ['pending', 'running', 4], // one start
    ['stopped', 'running', 5],
    ['running', 'shutting-down', 5],
    ['shutting-down', 'terminated', 4],
    ['stopped', 'terminated', 5],
  ] as const)('%s → %s: version %d', (from, to, version) => {
    const next = nextRecord(sighting(to), existing(from), NOW_S);
    expect(next).toMatchObject({ state: to, stateTime: NOW_S, version });
  });

  it('a sighting older than the recorded state changes neither state nor version', () => {
    const next = nextRecord(sighting('running', NOW_S - 120), existing('stopped'), NOW_S);
    expect(next).toBeUndefined();
  });

  it('a first sighting starts at version 1', () => {
    expect(nextRecord(sighting('stopping'), undefined, NOW_S)).toMatchObject({ state: 'stopping', version: 1 });
  });
});
