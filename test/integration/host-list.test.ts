/** Issue #16: the host list is streamed; a list that stalls fails the sweep before anything is written. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MackerelClient } from '../../shared/mackerel/client.js';
import { hostListDeadline, runtimeFor } from '../../shared/runtime.js';
import { createWorld, lambdaContext, type World } from '../support/world.js';

describe('hostListDeadline: what an invocation keeps for planning and acting', () => {
  const at = (remainingMs: number) => hostListDeadline({ getRemainingTimeInMillis: () => remainingMs }, 1_000_000);

  it.each([
    // [remaining, deadline after now]: a quarter, at least a minute, at most half
    [900_000, 675_000],
    [300_000, 225_000],
    [120_000, 60_000],
    [60_000, 30_000],
    [10_000, 5_000],
    [0, 0],
  ])('%i ms left → the list must be read within %i ms', (remaining, within) => {
    expect(at(remaining)).toBe(1_000_000 + within);
  });

  it('outside Lambda (no remaining time) there is no deadline', () => {
    expect(hostListDeadline({})).toBeUndefined();
  });
});

describe('a sweep whose host list stalls', () => {
  let w: World;
  beforeEach(async () => {
    w = await createWorld();
    console.log(`seed ${w.seed}`);
  });
  afterEach(() => w.stop());

  it('fails naming the stall, writes nothing to Mackerel, publishes only Reconcile Failed, marks nothing done', async () => {
    const gone = w.instanceWithHost();
    const stopped = w.instanceWithHost();
    w.healthy(8);
    w.sb.ec2.setState(gone.inst.instanceId, 'terminated');
    w.sb.ec2.setState(stopped.inst.instanceId, 'stopped');
    w.sb.mackerel.hostList = { stallAfterBytes: 1500 };
    // The handler reuses the container's runtime: give it a client with a short idle bound, as chaos does its clock.
    const rt = await runtimeFor(lambdaContext(w.sb.functionArn('sweep')));
    rt.mackerel = new MackerelClient({
      apiKey: w.sb.env.MACKEREL_APIKEY as string,
      apiBase: w.sb.env.MACKEREL_APIBASE as string,
      hostListIdleMs: 1000,
      maxAttempts: 2,
    });

    const err = await w.onSweep().catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'HostListStalledError', bound: 'idle', bytes: 1500 });
    expect((err as Error).message).toBe(
      'Mackerel API GET /api/v0/hosts failed: host list stalled: no data for 1000 ms after 1.5 KB',
    );
    const lists = w.sb.mackerel.calls.filter((c) => c.path === '/api/v0/hosts');
    expect(lists.map((c) => c.bytes)).toEqual([1500, 1500]);
    expect(w.sb.mackerel.writeCalls()).toEqual([]);
    expect(w.sb.mackerel.mutations).toEqual([]);
    expect(w.sb.eventBridge.events).toMatchObject([
      {
        detailType: 'Reconcile Failed',
        detail: { trigger: 'sweep', error: `HostListStalledError: ${(err as Error).message}` },
      },
    ]);
    expect(w.sb.ec2.calls.filter((c) => c.action !== 'DescribeInstances')).toEqual([]);
    // Nothing recorded, nothing claimed or done; the lease was given back.
    expect(await w.tableItems()).toEqual([]);

    // The control: the same world with a list that flows is acted on.
    w.sb.mackerel.hostList = {};
    const report = await w.onSweep();
    expect(report.actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'retire', hostId: gone.hostId, outcome: 'done' }),
        expect.objectContaining({ hostId: stopped.hostId, outcome: 'done' }),
      ]),
    );
    expect(w.sb.mackerel.hosts.get(gone.hostId)?.isRetired).toBe(true);
  });
});
