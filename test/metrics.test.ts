/** The run's figures reach CloudWatch as embedded-metric JSON on stdout, through the real sweep handler. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../shared/logger.js';
import { createWorld, type World } from './support/world.js';

// The suite silences metrics; this file is where they are looked at (before the handlers are imported).
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

let w: World;
let lines: string[];
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
  lines = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) {
      lines.push(text);
      return true;
    }
    return write(chunk, ...(rest as []));
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await w.stop();
});

const emitted = () =>
  lines.map(
    (l) =>
      JSON.parse(l) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      },
  );

describe('metrics', () => {
  it('a sweep publishes what it did: hosts retired, statuses changed, retries, duration', async () => {
    const gone = w.instanceWithHost();
    const stopped = w.instanceWithHost();
    w.healthy(18);
    w.sb.ec2.setState(gone.inst.instanceId, 'terminated');
    w.sb.ec2.setState(stopped.inst.instanceId, 'stopped');
    w.sb.mackerel.inject({ pathPrefix: '/api/v0/hosts', method: 'GET', status: 500, times: 1 });
    w.sb.mackerel.addAlert({ hostId: stopped.hostId });

    const report = await w.onSweep();

    expect(report.apiRetries.mackerel).toBe(1);
    const run = emitted().find((m) => 'HostsRetired' in m);
    expect(run).toBeDefined();
    expect(run?._aws.CloudWatchMetrics[0]?.Namespace).toBe('MackerelReconciler');
    expect(run?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(
      expect.arrayContaining(['service', 'trigger', 'dryRun']),
    );
    expect(run).toMatchObject({
      trigger: 'sweep',
      dryRun: 'false',
      HostsRetired: 1,
      StatusesChanged: 1,
      AlertsClosed: 1,
      AgentsRepaired: 0,
      SilencesChanged: 0,
      DuplicatesMerged: 0,
      MackerelApiRetries: 1,
      CircuitBreakerTripped: 0,
    });
    expect(run?.SweepDuration).toBe(report.durationMs);
  });

  it('a dry run counts what it would do under dryRun=true, and logs each action it would take', async () => {
    const gone = w.instanceWithHost();
    w.healthy(9);
    w.sb.ec2.setState(gone.inst.instanceId, 'terminated');
    const info = vi.spyOn(logger, 'info');

    await w.onReplay({ sweep: {}, dryRun: true });

    const finished = info.mock.calls.find(([message]) => message === 'replay finished');
    expect(finished?.[1]).toMatchObject({
      dryRun: true,
      wouldDo: [{ kind: 'retire', instanceId: gone.inst.instanceId, hostId: gone.hostId }],
    });
    expect(emitted().find((m) => 'HostsRetired' in m)).toMatchObject({
      trigger: 'replay',
      dryRun: 'true',
      HostsRetired: 1,
    });
    expect(w.retiredIds()).toEqual([]);
  });
});
