/**
 * The Ledger port's contract: what every implementation must do, seen only through the port. Run by
 * test/state/dynamo-ledger.test.ts (against dynalite) and test/state/memory-ledger.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { InstanceCommit, InstanceOutcome, Ledger } from '../../shared/reconcile/ports.js';
import type { InstanceRecord } from '../../shared/reconcile/types.js';

export const NOW = 1_800_000_000_000;
export const NOW_S = NOW / 1000;
export const LEASE = 60_000;

export const record = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: 'i-1',
  region: 'ap-northeast-1',
  accountId: '123456789012',
  state: 'running',
  stateTime: NOW_S - 60,
  version: 1,
  firstSeenAt: NOW_S - 60,
  lastSeenAt: NOW_S - 60,
  ignored: false,
  linkedHostIds: ['h1'],
  ...over,
});

export const commit = (over: Partial<InstanceCommit> = {}): InstanceCommit => ({
  instanceId: 'i-1',
  claims: [],
  restores: [],
  ...over,
});

export const outcome = (over: Partial<InstanceOutcome> = {}): InstanceOutcome => ({
  instanceId: 'i-1',
  done: [],
  released: [],
  checks: [],
  forgetRestores: [],
  forgetChecks: [],
  events: [],
  ...over,
});

const restore = (key: string, status: 'working' | 'standby', hostId = 'h1') => ({
  key,
  memo: { instanceId: 'i-1', hostId, status, setAt: NOW_S },
});

export function ledgerContract(name: string, make: () => Promise<Ledger>): void {
  describe(`${name}: the Ledger contract`, () => {
    let ledger: Ledger;
    beforeEach(async () => {
      ledger = await make();
    });
    const load = (ids = ['i-1'], nowS = NOW_S) => ledger.loadInstances(ids, nowS);
    const stored = async (id = 'i-1') => (await load([id])).records[0] as InstanceRecord;

    describe('begin', () => {
      it('records a sighting, a restore memo and a claim together; they read back', async () => {
        const begun = await ledger.begin(
          commit({ next: record({ state: 'stopped' }), claims: ['off'], restores: [restore('off', 'standby')] }),
          'run-a',
          NOW,
          LEASE,
        );
        expect(begun).toEqual({ claimed: ['off'], held: {}, record: record({ state: 'stopped' }) });
        const state = await load();
        expect(state.records).toMatchObject([{ instanceId: 'i-1', state: 'stopped', version: 1 }]);
        expect(state.restores).toEqual([{ instanceId: 'i-1', hostId: 'h1', status: 'standby', setAt: NOW_S }]);
      });

      it('a claim another run holds is reported in progress, not taken; once its lease ran out it is taken', async () => {
        await ledger.begin(commit({ next: record(), claims: ['retire#h1'] }), 'a', NOW, LEASE);
        const base = await stored();
        const during = await ledger.begin(commit({ base, claims: ['retire#h1'] }), 'b', NOW + 1, LEASE);
        expect(during).toMatchObject({ claimed: [], held: { 'retire#h1': 'in-progress' } });
        const after = await ledger.begin(commit({ base, claims: ['retire#h1'] }), 'c', NOW + LEASE + 1, LEASE);
        expect(after).toMatchObject({ claimed: ['retire#h1'], held: {} });
      });

      it('a restore memo goes only with a claim that was taken', async () => {
        await ledger.begin(commit({ next: record(), claims: ['off'], restores: [restore('off', 'standby')] }), 'a', NOW, LEASE);
        const base = await stored();
        const b = await ledger.begin(commit({ base, claims: ['off'], restores: [restore('off', 'working')] }), 'b', NOW, LEASE);
        expect(b.claimed).toEqual([]);
        expect((await load()).restores).toMatchObject([{ hostId: 'h1', status: 'standby' }]);
      });

      it('two runs recording the same transition at once agree on one version and one claim', async () => {
        await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
        const base = await stored();
        const stopped = { ...base, state: 'stopped' as const, stateTime: NOW_S, version: 2, lastSeenAt: NOW_S };
        const [a, b] = await Promise.all([
          ledger.begin(commit({ base, next: stopped, claims: ['poweroff@2'] }), 'a', NOW, LEASE),
          ledger.begin(commit({ base, next: stopped, claims: ['poweroff@2'] }), 'b', NOW, LEASE),
        ]);
        expect([...a.claimed, ...b.claimed]).toEqual(['poweroff@2']);
        expect([a.held, b.held]).toContainEqual({ 'poweroff@2': 'in-progress' });
        expect((await load()).records).toMatchObject([{ state: 'stopped', version: 2 }]);
      });

      it('a stale writer does not roll the version back: its change is re-applied on top', async () => {
        await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
        const v1 = await stored();
        const stopped = { ...v1, state: 'stopped' as const, stateTime: NOW_S, version: 2 };
        await ledger.begin(commit({ base: v1, next: stopped }), 'a', NOW, LEASE);
        const running = { ...stopped, state: 'running' as const, stateTime: NOW_S + 10, version: 3 };
        await ledger.begin(commit({ base: stopped, next: running }), 'b', NOW, LEASE);
        // A run that read v1 long ago and saw the stop.
        const late = await ledger.begin(commit({ base: v1, next: stopped, claims: ['k'] }), 'c', NOW, LEASE);
        expect(late.claimed).toEqual(['k']);
        expect((await load()).records).toMatchObject([{ state: 'running', version: 3 }]);
      });

      it('a write that names no version where a record exists conflicts, and is re-applied on top of it', async () => {
        await ledger.begin(commit({ next: record({ linkedHostIds: ['h1', 'h2'] }) }), 'a', NOW, LEASE);
        const begun = await ledger.begin(commit({ claims: ['k'] }), 'b', NOW, LEASE);
        expect(begun).toMatchObject({ claimed: ['k'], record: { version: 1, linkedHostIds: ['h1', 'h2'] } });
      });

      it('links and the first time an instance was found gone are stored with the sighting', async () => {
        await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
        const base = await stored();
        await ledger.begin(commit({ base, next: { ...base, linkedHostIds: ['h2'], goneAt: NOW_S } }), 'a', NOW, LEASE);
        expect(await stored()).toMatchObject({ linkedHostIds: ['h2'], goneAt: NOW_S });
      });

      it('with nothing to write it answers the record it was given', async () => {
        await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
        const base = await stored();
        expect(await ledger.begin(commit({ base }), 'b', NOW, LEASE)).toEqual({ claimed: [], held: {}, record: base });
      });

      it('claims on an instance never sighted are kept, but make no record', async () => {
        expect((await ledger.begin(commit({ instanceId: 'i-2', claims: ['k'] }), 'a', NOW, LEASE)).claimed).toEqual(['k']);
        expect((await load(['i-2'])).records).toEqual([]);
        const again = await ledger.begin(commit({ instanceId: 'i-2', claims: ['k'] }), 'b', NOW, LEASE);
        expect(again.held).toEqual({ k: 'in-progress' });
      });
    });

    describe('finish', () => {
      it('marks actions done (held as done from then on) and events handled', async () => {
        await ledger.begin(commit({ next: record(), claims: ['k1'] }), 'a', NOW, LEASE);
        await ledger.finish(outcome({ done: ['k1'], events: ['ev-1'] }), 'a', NOW);
        const base = await stored();
        const later = await ledger.begin(commit({ base, claims: ['k1'] }), 'b', NOW + 2 * LEASE, LEASE);
        expect(later).toMatchObject({ claimed: [], held: { k1: 'done' } });
        expect((await load()).events).toEqual(new Set(['i-1#ev-1']));
      });

      it('gives a claim back only for the run that holds it', async () => {
        await ledger.begin(commit({ next: record(), claims: ['k2'] }), 'a', NOW, LEASE);
        const base = await stored();
        await ledger.finish(outcome({ released: ['k2'] }), 'intruder', NOW);
        expect((await ledger.begin(commit({ base, claims: ['k2'] }), 'b', NOW + 1, LEASE)).held).toEqual({
          k2: 'in-progress',
        });
        await ledger.finish(outcome({ released: ['k2'] }), 'a', NOW);
        expect((await ledger.begin(commit({ base, claims: ['k2'] }), 'b', NOW + 2, LEASE)).claimed).toEqual(['k2']);
      });

      it('never gives back a done action', async () => {
        await ledger.begin(commit({ next: record(), claims: ['k'] }), 'a', NOW, LEASE);
        await ledger.finish(outcome({ done: ['k'] }), 'a', NOW);
        await ledger.finish(outcome({ released: ['k'] }), 'a', NOW);
        const base = await stored();
        expect((await ledger.begin(commit({ base, claims: ['k'] }), 'b', NOW, LEASE)).held).toEqual({ k: 'done' });
      });

      it('records check memos and forgets them; one recorded and forgotten by the same run is forgotten', async () => {
        await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
        const memo = (hostId: string) => ({
          instanceId: 'i-1',
          hostId,
          name: 'imds-disabled' as const,
          status: 'WARNING' as const,
          changedAt: NOW_S,
        });
        await ledger.finish(outcome({ checks: [memo('h1'), memo('h2')] }), 'a', NOW);
        expect((await load()).checks.sort((x, y) => x.hostId.localeCompare(y.hostId))).toEqual([memo('h1'), memo('h2')]);
        await ledger.finish(
          outcome({ checks: [memo('h2')], forgetChecks: [{ name: 'imds-disabled', hostId: 'h1' }, { name: 'imds-disabled', hostId: 'h2' }] }),
          'a',
          NOW,
        );
        expect((await load()).checks).toEqual([]);
      });

      it('keeps an instance memo with its ref (an agent repair and its command id), and replaces it', async () => {
        await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
        const repair = { instanceId: 'i-1', hostId: 'i-1', name: 'agent-repair' as const, status: 'UNKNOWN' as const, changedAt: NOW_S, ref: 'cmd-1' };
        await ledger.finish(outcome({ checks: [repair] }), 'a', NOW);
        expect((await load()).checks).toEqual([repair]);
        await ledger.finish(outcome({ checks: [{ ...repair, status: 'OK' }] }), 'a', NOW);
        expect((await load()).checks).toEqual([{ ...repair, status: 'OK' }]);
      });

      it('forgets a restore memo named twice in one run (a restore done, and a forget-memo) once', async () => {
        const twice = [restore('off', 'working'), restore('off', 'working')];
        await ledger.begin(commit({ next: record({ state: 'stopped' }), claims: ['off'], restores: twice }), 'a', NOW, LEASE);
        expect((await load()).restores).toHaveLength(1);
        await ledger.finish(outcome({ done: ['on'], forgetRestores: ['h1', 'h1'] }), 'a', NOW);
        expect((await load()).restores).toEqual([]);
      });

      it('writes nothing for an instance it holds nothing of', async () => {
        await ledger.finish(outcome({ instanceId: 'i-9', done: ['k'], events: ['ev'] }), 'a', NOW);
        // Had it marked `k` done, the claim would be refused.
        expect((await ledger.begin(commit({ instanceId: 'i-9', claims: ['k'] }), 'b', NOW, LEASE)).claimed).toEqual(['k']);
      });
    });

    describe('housekeeping and reads', () => {
      it('old handled events and old done actions are stale, and the next write drops them', async () => {
        const old = NOW - 30 * 86_400_000;
        await ledger.begin(commit({ next: record(), claims: ['old'] }), 'a', old, LEASE);
        await ledger.finish(outcome({ done: ['old'], events: ['ev-old'] }), 'a', old);
        const loaded = await load();
        expect(loaded.events.size).toBe(0);
        expect(loaded.stale.get('i-1')).toEqual({ actions: ['old'], events: ['ev-old'] });

        const b = await ledger.begin(
          commit({ base: loaded.records[0], claims: ['new'], prune: loaded.stale.get('i-1') }),
          'b',
          NOW,
          LEASE,
        );
        expect(b.claimed).toEqual(['new']);
        expect((await load()).stale.get('i-1')).toBeUndefined();
        // The old action is forgotten: the same key could be claimed again.
        expect((await ledger.begin(commit({ base: loaded.records[0], claims: ['old'] }), 'c', NOW, LEASE)).claimed).toEqual(['old']);
      });

      it('a stale entry that is claimed again in the same write is kept', async () => {
        const old = NOW - 30 * 86_400_000;
        await ledger.begin(commit({ next: record(), claims: ['k'] }), 'a', old, LEASE);
        await ledger.finish(outcome({ done: ['k'] }), 'a', old);
        const loaded = await load();
        // One write never both claims and drops a key: a done key stays done, stale or not.
        const b = await ledger.begin(commit({ base: loaded.records[0], claims: ['k'], prune: loaded.stale.get('i-1') }), 'b', NOW, LEASE);
        expect(b.held).toEqual({ k: 'done' });
      });

      it('loadAll reads every instance, loadInstances only those asked for', async () => {
        for (const id of ['i-1', 'i-2', 'i-3']) await ledger.begin(commit({ instanceId: id, next: record({ instanceId: id }) }), 'a', NOW, LEASE);
        expect((await ledger.loadAll(NOW_S)).records.map((r) => r.instanceId).sort()).toEqual(['i-1', 'i-2', 'i-3']);
        expect((await load(['i-3', 'i-1', 'i-3', 'i-9'])).records.map((r) => r.instanceId).sort()).toEqual(['i-1', 'i-3']);
      });
    });

    describe('the sweep lease', () => {
      it('one holder at a time; free again when released by its holder or when its time ran out', async () => {
        expect(await ledger.acquireLease('sweep', 'a', NOW, LEASE)).toBe(true);
        expect(await ledger.acquireLease('sweep', 'b', NOW + 1, LEASE)).toBe(false);
        await ledger.releaseLease('sweep', 'b');
        expect(await ledger.acquireLease('sweep', 'b', NOW + 2, LEASE)).toBe(false);
        await ledger.releaseLease('sweep', 'a');
        expect(await ledger.acquireLease('sweep', 'b', NOW + 3, LEASE)).toBe(true);
        expect(await ledger.acquireLease('sweep', 'c', NOW + 3 + LEASE + 1, LEASE)).toBe(true);
        expect(await ledger.acquireLease('other', 'd', NOW, LEASE)).toBe(true);
      });
    });
  });
}
