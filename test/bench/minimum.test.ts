import { describe, expect, it } from 'vitest';
import type { CallCounts } from '../../bench/calls.js';
import { compareWithMinimum, type Work } from '../../bench/minimum.js';

const work = (over: Partial<Work> = {}): Work => ({
  instancesPerRegion: [10_000],
  retirements: 500,
  statusChanges: { poweroff: 150, working: 120, standby: 30 },
  checkReports: 50,
  duplicateCandidates: 50,
  findings: 850,
  ...over,
});

const calls = (over: Partial<CallCounts> = {}): CallCounts => ({
  mackerel: {},
  ec2: {},
  eventBridge: { PutEvents: 0, entries: 0 },
  dynamodb: {},
  bytes: { mackerel: 0, ec2: 0 },
  ...over,
});

const minimumOf = (w: Work, api: string) => compareWithMinimum(w, calls()).rows.find((r) => r.api === api)?.minimum;

describe('the minimum calls of a sweep (issue #5)', () => {
  it.each([
    ['one host list', work(), 'Mackerel GET /hosts', 1],
    ['⌈instances/1000⌉ DescribeInstances', work(), 'EC2 DescribeInstances', 10],
    ['… per region, and an empty region is still asked once', work({ instancesPerRegion: [1001, 0] }), 'EC2 DescribeInstances', 3],
    ['⌈retirements/30⌉ bulk-retire', work(), 'Mackerel POST /hosts/bulk-retire', 17],
    ['⌈changes/30⌉ per target status', work(), 'Mackerel POST /hosts/bulk-update-statuses', 5 + 4 + 1],
    ['⌈reports/100⌉ check reports', work({ checkReports: 101 }), 'Mackerel POST /monitoring/checks/report', 2],
    ['⌈candidates/100⌉ tsdb/latest', work(), 'Mackerel GET /tsdb/latest', 1],
    ['no candidates, no tsdb/latest', work({ duplicateCandidates: 0 }), 'Mackerel GET /tsdb/latest', 0],
    ['⌈entries/10⌉ PutEvents', work(), 'EventBridge PutEvents', 85],
  ])('%s', (_name, w, api, expected) => {
    expect(minimumOf(w, api)).toBe(expected);
  });

  it('sets actual calls against the minimum and counts unlisted calls as overhead', () => {
    const c = compareWithMinimum(
      work({ instancesPerRegion: [1000], retirements: 30, statusChanges: {}, checkReports: 0, duplicateCandidates: 0, findings: 30 }),
      calls({
        mackerel: { 'GET /api/v0/hosts': 1, 'POST /api/v0/hosts/bulk-retire': 1, 'GET /api/v0/hosts/:id': 2 },
        ec2: { DescribeInstances: 2 },
        eventBridge: { PutEvents: 3, entries: 30 },
      }),
    );
    expect(c.minimum).toBe(1 + 1 + 1 + 3);
    expect(c.actual).toBe(1 + 2 + 1 + 3 + 2);
    expect(c.rows).toContainEqual({ api: 'Mackerel GET /api/v0/hosts/:id', rule: 'not needed', minimum: 0, actual: 2 });
    expect(c.overheadPercent).toBeCloseTo(50);
  });
});
