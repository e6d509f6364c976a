/**
 * Planner invariants over random fleets (issue #5): safety, convergence, independence from input order, and a
 * dry run that writes nothing. The seed is printed; replay a failure with TEST_SEED=<seed> (fast-check also
 * prints the seed and the shrunk counterexample's path).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute } from '../../shared/reconcile/execute.js';
import type { Host } from '../../shared/reconcile/model.js';
import { plan } from '../../shared/reconcile/plan.js';
import type { Action, Observation, Plan } from '../../shared/reconcile/types.js';
import { applyPlan } from '../support/apply-plan.js';
import { fakePorts } from '../support/fakes.js';
import { type FleetCase, fleetCase } from '../support/fleet-arbitrary.js';

const seed = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`plan properties: seed ${seed}`);
const params = { seed, numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };

const hostIdOf = (a: Action) => ('hostId' in a ? a.hostId : undefined);
const retires = (p: Plan) => p.actions.filter((a) => a.kind === 'retire');

describe('planner invariants', () => {
  it('never retires a live instance’s host (nor, as a duplicate, its canonical one) or touches a foreign one', () => {
    fc.assert(
      fc.property(fleetCase(), ({ obs, policy, truth, instanceState }: FleetCase) => {
        const p = plan(obs, policy);
        const live = new Map(obs.instances.map((i) => [i.instanceId, i.state]));
        const retired = new Set(retires(p).map((a) => a.hostId));
        for (const a of p.actions) {
          const kind = truth.get(hostIdOf(a) ?? '')?.kind;
          // Another account's host or an unrelated one: no action of any kind.
          expect(kind !== 'foreign' && kind !== 'stray', `${a.key} touches a ${kind} host`).toBe(true);
        }
        for (const a of retires(p)) {
          const t = truth.get(a.hostId);
          const owner = t && 'instanceId' in t ? t.instanceId : undefined;
          if (a.retireReason !== 'duplicate-stale') {
            // Only a terminated or vanished instance loses its hosts: the one planned for and the real owner.
            expect(live.get(a.instanceId) ?? 'terminated', `retire ${a.hostId} for ${a.instanceId}`).toBe(
              'terminated',
            );
            const ownerState = owner ? instanceState.get(owner) : undefined;
            expect(
              ['terminated', 'gone', undefined],
              `retire ${a.hostId}: its instance ${owner} is ${ownerState}`,
            ).toContain(ownerState);
          } else {
            // A duplicate merge: the instance runs and keeps its canonical host (customIdentifier, else oldest)
            expect(live.get(a.instanceId)).toBe('running');
            const ci = `${a.instanceId}.ec2.amazonaws.com`;
            const [canonical] = p.links
              .filter((l) => l.instanceId === a.instanceId)
              .map((l) => obs.hosts.find((h) => h.id === l.hostId) as Host)
              .sort(
                (x, y) =>
                  Number(y.customIdentifier?.toLowerCase() === ci) -
                    Number(x.customIdentifier?.toLowerCase() === ci) ||
                  x.createdAt - y.createdAt ||
                  x.id.localeCompare(y.id),
              );
            const kept = canonical !== undefined && !retired.has(canonical.id);
            expect(kept, `the canonical host of ${a.instanceId} retired`).toBe(true);
          }
        }
        if (p.circuitBreaker?.tripped) expect(retires(p)).toEqual([]);
      }),
      params,
    );
  });

  it('executing a plan and planning again gives an empty plan', () => {
    fc.assert(
      fc.property(fleetCase(), ({ obs, policy }: FleetCase) => {
        // IMDS remediation takes a second round by design (OK is posted once EC2 shows the fix): see below.
        const pol = { ...policy, imdsRemediate: false };
        const first = plan(obs, pol);
        const again = plan(applyPlan(obs, first), pol);
        expect(again.actions.map((a) => a.key)).toEqual([]);
      }),
      params,
    );
  });

  it('with IMDS remediation: converged after the second round, when EC2 shows the fix', () => {
    fc.assert(
      fc.property(fleetCase(), ({ obs, policy }: FleetCase) => {
        const pol = { ...policy, imdsRemediate: true };
        const first = plan(obs, pol);
        const second = plan(applyPlan(obs, first), pol);
        expect(second.actions.every((a) => a.kind === 'report-check' && a.status === 'OK')).toBe(true);
        const third = plan(applyPlan(applyPlan(obs, first), second), pol);
        expect(third.actions.map((a) => a.key)).toEqual([]);
      }),
      params,
    );
  });

  it('the plan does not depend on the order of the input lists', () => {
    fc.assert(
      fc.property(
        fleetCase(),
        fc.infiniteStream(fc.nat()),
        ({ obs, policy }: FleetCase, randoms: fc.Stream<number>) => {
          const it = randoms[Symbol.iterator]();
          const shuffle = <T>(xs: readonly T[]): T[] => {
            const out = [...xs];
            for (let i = out.length - 1; i > 0; i--) {
              const j = (it.next().value as number) % (i + 1);
              [out[i], out[j]] = [out[j] as T, out[i] as T];
            }
            return out;
          };
          const shuffled: Observation = {
            ...obs,
            regions: shuffle(obs.regions),
            hosts: shuffle(obs.hosts),
            instances: shuffle(obs.instances),
            notFound: shuffle(obs.notFound),
            ...(obs.targetIds ? { targetIds: shuffle(obs.targetIds) } : {}),
            state: {
              records: shuffle(obs.state.records).map((r) => ({
                ...r,
                linkedHostIds: shuffle(r.linkedHostIds),
              })),
              restores: shuffle(obs.state.restores),
              checks: shuffle(obs.state.checks),
            },
          };
          expect(plan(shuffled, policy)).toEqual(plan(obs, policy));
        },
      ),
      params,
    );
  });

  it('a dry run plans the same actions and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fleetCase(), async ({ obs, policy }: FleetCase) => {
        const real = plan(obs, policy);
        const dry = plan(obs, { ...policy, dryRun: true });
        expect(dry).toEqual(real);

        // Every port records any call made on it, the ledger counts its requests: a dry run must make none.
        const ports = fakePorts();
        const res = await execute(dry, ports, { runId: 'dry', dryRun: true, clock: () => obs.now });
        expect(ports.calls).toEqual([]);
        expect(ports.ledger.stats.requests).toBe(0);
        // What the circuit breaker held back is reported `held`, dry run or not; everything else `planned`.
        expect(res.results.map((r) => r.outcome)).toEqual([
          ...dry.actions.map(() => 'planned'),
          ...(dry.held ?? []).map(() => 'held'),
        ]);
        expect(res.findings.published).toBe(0);
      }),
      { ...params, numRuns: 100 },
    );
  });

  it('executed on the in-memory ledger, each action is done once; the same plan again performs nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fleetCase(), async ({ obs, policy }: FleetCase) => {
        const p = plan(obs, policy);
        const ports = fakePorts();
        // EC2 answers the re-check as the observation saw it.
        for (const i of obs.instances) ports.fleet.instances.set(i.instanceId, i);
        const terminated = new Set(obs.instances.filter((i) => i.state === 'terminated').map((i) => i.instanceId));
        const run = (runId: string) => execute(p, ports, { runId, dryRun: false, clock: () => obs.now, terminated });

        const first = await run('first');
        for (const r of first.results) {
          // Held back only by its re-check, or waiting for an action that was not done: never failed.
          // (and `held`: a retirement the circuit breaker kept back, never performed)
          const expected = { done: undefined, blocked: 'RecheckBlocked', deferred: 'DependencyPending', held: undefined };
          expect(Object.keys(expected), `${r.key}: ${r.outcome} ${r.error ?? ''}`).toContain(r.outcome);
          expect(r.errorName, r.key).toBe(expected[r.outcome as keyof typeof expected]);
        }
        const before = ports.calls.length;

        const again = await run('again');
        const doneFirst = new Set(first.results.filter((r) => r.outcome === 'done').map((r) => r.key));
        for (const r of again.results) {
          if (doneFirst.has(r.key) && r.kind !== 'forget-memo') expect(r.outcome, r.key).toBe('already-done');
        }
        // Only what the first run could not do is tried again (a blocked retirement, a deferred one).
        const writes = ports.calls.slice(before).filter((c) => c.port === 'hosts' || c.method === 'enableMetadataEndpoint');
        const performed = again.results.filter((r) => r.outcome === 'done' && r.kind !== 'forget-memo');
        expect(writes.length > 0).toBe(performed.length > 0);
        for (const r of performed) expect(doneFirst.has(r.key), r.key).toBe(false);
      }),
      { ...params, numRuns: 100 },
    );
  });
});
