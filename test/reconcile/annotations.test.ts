/** The graph annotations a run's results make: one per service, counts in the title, hosts and reasons below. */
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_DESCRIPTION_MAX,
  type AnnotatedHost,
  buildAnnotations,
  describeChanges,
  titleOf,
} from '../../shared/reconcile/annotations.js';
import type { ActionResult } from '../../shared/reconcile/execute.js';

const retire = (hostId: string, instanceId: string, outcome: ActionResult['outcome'] = 'done'): ActionResult => ({
  key: `retire#${hostId}`,
  kind: 'retire',
  instanceId,
  hostId,
  outcome,
  reason: `instance ${instanceId} is terminated`,
  detail: { hostName: `host-${hostId}`, retireReason: 'instance-terminated' },
});
const status = (hostId: string, instanceId: string, to: string): ActionResult => ({
  key: `status#${hostId}#${to}`,
  kind: 'set-status',
  instanceId,
  hostId,
  outcome: 'done',
  reason: `instance ${instanceId} is ${to === 'poweroff' ? 'stopped' : 'running again'}`,
  detail: { hostName: `host-${hostId}`, from: 'working', to },
});
const hosts = (...hs: [string, Record<string, string[]>][]) =>
  new Map<string, AnnotatedHost>(hs.map(([id, roles]) => [id, { id, name: `host-${id}`, roles }]));
const span = { from: 1_800_000_000, to: 1_800_000_012 };

describe('buildAnnotations', () => {
  it('one annotation per service, over the run, with what was done to which host and why', () => {
    const results = [retire('a', 'i-1'), retire('b', 'i-2'), status('c', 'i-3', 'poweroff'), retire('d', 'i-4')];
    const known = hosts(['a', { shop: ['web'] }], ['b', { shop: ['web'], batch: ['worker'] }], ['c', { batch: ['worker'] }], ['d', {}]);

    const { annotations, withoutService } = buildAnnotations(results, known, span);

    expect(annotations).toEqual([
      {
        service: 'batch',
        title: 'mackerel-reconciler: retired 1 host, 1 powered off',
        description: [
          'retired host-b (b, i-2): instance i-2 is terminated',
          'powered off host-c (c, i-3): instance i-3 is stopped',
        ].join('\n'),
        ...span,
      },
      {
        service: 'shop',
        title: 'mackerel-reconciler: retired 2 hosts',
        description: ['retired host-a (a, i-1): instance i-1 is terminated', 'retired host-b (b, i-2): instance i-2 is terminated'].join('\n'),
        ...span,
      },
    ]);
    expect(withoutService).toEqual(['d']);
  });

  it.each([
    ['planned (a dry run)', retire('a', 'i-1', 'planned')],
    ['held by the circuit breaker', retire('a', 'i-1', 'held')],
    ['failed', retire('a', 'i-1', 'failed')],
    ['blocked by the re-check', retire('a', 'i-1', 'blocked')],
    ['a status restored', status('a', 'i-1', 'working')],
  ])('nothing for an action %s', (_name, result) => {
    expect(buildAnnotations([result], hosts(['a', { shop: ['web'] }]), span)).toEqual({ annotations: [], withoutService: [] });
  });

  it('a host the run did not observe is annotated on no service, and said so', () => {
    expect(buildAnnotations([retire('x', 'i-9')], new Map(), span)).toEqual({ annotations: [], withoutService: ['x'] });
  });
});

describe('titles and descriptions stay inside Mackerel limits', () => {
  it('titles: retirements, poweroffs, both', () => {
    expect(titleOf(3, 1)).toBe('mackerel-reconciler: retired 3 hosts, 1 powered off');
    expect(titleOf(0, 2)).toBe('mackerel-reconciler: powered off 2 hosts');
    expect(titleOf(1, 0)).toBe('mackerel-reconciler: retired 1 host');
  });

  it('a long list is cut to 1024 characters, saying how many more there were', () => {
    const results = Array.from({ length: 200 }, (_, i) => retire(`h${String(i).padStart(3, '0')}`, `i-${i}`));
    const known = hosts(...results.map((r): [string, Record<string, string[]>] => [r.hostId as string, { shop: ['web'] }]));

    const [a] = buildAnnotations(results, known, span).annotations;

    expect(a?.title).toBe('mackerel-reconciler: retired 200 hosts');
    expect(a?.description.length).toBeLessThanOrEqual(ANNOTATION_DESCRIPTION_MAX);
    const lines = a?.description.split('\n') ?? [];
    const shown = lines.filter((l) => l.startsWith('retired ')).length;
    expect(shown).toBeGreaterThan(5);
    expect(lines.at(-1)).toBe(`… and ${200 - shown} more`);
  });

  it('one line longer than the limit is clipped; lines that fit are kept whole', () => {
    const one = describeChanges([{ verb: 'retired', hostId: 'h', line: 'x'.repeat(2000) }]);
    expect(one.length).toBe(ANNOTATION_DESCRIPTION_MAX);
    const two = describeChanges(
      [
        { verb: 'retired', hostId: 'a', line: 'first' },
        { verb: 'retired', hostId: 'b', line: 'second' },
      ],
      20,
    );
    expect(two).toBe('first\nsecond');
  });
});
