/**
 * Graph annotations end to end: a run that retires or powers off hosts marks it on each affected Mackerel service's
 * graphs, once per service, through the real handlers and the sandbox's Mackerel over HTTP.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../support/world.js';

let w: World;
beforeEach(async () => {
  w = await createWorld();
  console.log(`seed ${w.seed}`);
});
afterEach(() => w.stop());

const annotationPosts = () =>
  w.sb.mackerel.calls.filter((c) => c.method === 'POST' && c.path === '/api/v0/graph-annotations');

/**
 * Twenty healthy hosts of `shop` (under the circuit breaker's 20 %), then: two `shop` instances terminated, one `blog`
 * instance terminated and one stopped, and a terminated instance whose host belongs to no service.
 */
function fleetWithChanges() {
  w.healthy(20);
  const shop1 = w.instanceWithHost({ state: 'terminated' });
  const shop2 = w.instanceWithHost({ state: 'terminated' });
  const blogGone = w.instanceWithHost({ state: 'terminated' }, { roles: { blog: ['app'] } });
  const blogStopped = w.instanceWithHost({ state: 'stopped' }, { roles: { blog: ['app'] } });
  const loose = w.instanceWithHost({ state: 'terminated' }, { roles: {} });
  return { shop1, shop2, blogGone, blogStopped, loose };
}

describe('graph annotations', () => {
  it('a sweep that retires and powers off hosts of two services posts exactly one annotation per service', async () => {
    const f = fleetWithChanges();

    const report = await w.onSweep();

    expect(report.counts.done).toBe(5);
    const posted = w.sb.mackerel.graphAnnotations;
    expect(posted.map((a) => a.service)).toEqual(['blog', 'shop']);
    const [blog, shop] = posted;
    expect(shop?.title).toBe('mackerel-reconciler: retired 2 hosts');
    expect(blog?.title).toBe('mackerel-reconciler: retired 1 host, 1 powered off');
    for (const { hostId, inst } of [f.shop1, f.shop2]) {
      expect(shop?.description).toContain(hostId);
      expect(shop?.description).toContain(inst.instanceId);
    }
    expect(blog?.description).toMatch(new RegExp(`^retired .*${f.blogGone.hostId}.*\\npowered off .*${f.blogStopped.hostId}`));
    expect(blog?.description).toContain(`instance ${f.blogStopped.inst.instanceId} is stopped`);
    // a service-wide mark over the run's span, in epoch seconds
    const startedS = Math.floor(Date.parse(report.startedAt) / 1000);
    expect(shop?.roles).toBeUndefined();
    expect(shop?.from).toBe(startedS);
    expect(shop?.to).toBeGreaterThanOrEqual(startedS);
    expect(shop?.to).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(report.annotations).toEqual({
      posted: [
        { service: 'blog', id: blog?.id, title: blog?.title },
        { service: 'shop', id: shop?.id, title: shop?.title },
      ],
      failed: [],
      hostsWithoutService: [f.loose.hostId],
    });

    // converged: the next sweep does nothing and marks nothing
    const again = await w.onSweep();
    expect(again.actions).toEqual([]);
    expect(again.annotations).toBeUndefined();
    expect(annotationPosts()).toHaveLength(2);
  });

  it('an event that retires one host annotates its service', async () => {
    const { inst, hostId } = w.instanceWithHost({}, { roles: { shop: ['web'], batch: ['worker'] } });
    w.sb.ec2.setState(inst.instanceId, 'terminated');

    const report = await w.onStateChange(w.stateChangeEvent(inst.instanceId, 'terminated'));

    expect(report.actions).toMatchObject([{ kind: 'retire', hostId, outcome: 'done' }]);
    // a host of two services is on both services' graphs
    expect(w.sb.mackerel.graphAnnotations.map((a) => [a.service, a.title])).toEqual([
      ['batch', 'mackerel-reconciler: retired 1 host'],
      ['shop', 'mackerel-reconciler: retired 1 host'],
    ]);
  });

  it('a dry run posts no annotation', async () => {
    fleetWithChanges();
    w.setEnv({ DRY_RUN: 'true' });

    const report = await w.onSweep();

    expect(report.counts.planned).toBe(5);
    expect(annotationPosts()).toEqual([]);
    expect(report.annotations).toBeUndefined();
  });

  it('GRAPH_ANNOTATIONS=false switches them off: the run acts, no annotation is posted', async () => {
    const f = fleetWithChanges();
    w.setEnv({ GRAPH_ANNOTATIONS: 'false' });

    const report = await w.onSweep();

    expect(report.counts.done).toBe(5);
    expect(w.sb.mackerel.hosts.get(f.shop1.hostId)?.isRetired).toBe(true);
    expect(annotationPosts()).toEqual([]);
    expect(report.annotations).toBeUndefined();
  });

  it('a failed annotation fails nothing else: the actions are done, the failure is reported', async () => {
    const f = fleetWithChanges();
    const refusal = JSON.stringify({ error: { message: 'Service not found' } });
    w.sb.mackerel.serveVerbatim({ method: 'POST', path: '/api/v0/graph-annotations', status: 404, body: refusal });

    const report = await w.onSweep();

    expect(report.counts.done).toBe(5);
    expect(report.counts.failed).toBe(0);
    expect(w.sb.mackerel.hosts.get(f.shop1.hostId)?.isRetired).toBe(true);
    expect(w.sb.mackerel.hosts.get(f.blogStopped.hostId)?.status).toBe('poweroff');
    expect(report.annotations?.posted).toEqual([]);
    expect(report.annotations?.failed.map((x) => x.service)).toEqual(['blog', 'shop']);
    expect(report.errors).toEqual([
      expect.stringMatching(/^graph annotation for service blog: MackerelApiError: .*Service not found/),
      expect.stringMatching(/^graph annotation for service shop: MackerelApiError: .*Service not found/),
    ]);
    expect(w.sb.mackerel.graphAnnotations).toEqual([]);
    // the actions were recorded done: the next sweep has nothing left to do
    expect((await w.onSweep()).actions).toEqual([]);
  });
});
