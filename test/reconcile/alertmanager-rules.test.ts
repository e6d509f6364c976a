/** The Alertmanager rules, one row per rule, with plain inputs (the planner's purity makes them tables). */
import { describe, expect, it } from 'vitest';
import {
  ALERT_TTL_MS,
  alertmanagerActions,
  type AlertmanagerInput,
  ENDED_MS,
  HOLD_MS,
  silenceFor,
} from '../../shared/reconcile/alertmanager-rules.js';
import type { Instance } from '../../shared/reconcile/model.js';
import type { Silence } from '../../shared/reconcile/silences.js';
import type { InstanceRecord } from '../../shared/reconcile/types.js';

const NOW = Date.UTC(2026, 10, 30, 12);
const H = 3_600_000;
const ID = 'i-0123456789abcdef0';

const record = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: ID,
  region: 'ap-northeast-1',
  accountId: '123456789012',
  state: 'stopped',
  stateTime: NOW / 1000 - 600,
  version: 2,
  firstSeenAt: NOW / 1000 - 86400,
  lastSeenAt: NOW / 1000,
  ignored: false,
  linkedHostIds: [],
  ...over,
});
const instance = (over: Partial<Instance> = {}) => ({ instanceId: ID, state: 'running', httpEndpoint: 'enabled', ...over }) as Instance;
const silence = (over: Partial<Silence> = {}): Silence => ({
  id: 's-1',
  instanceId: ID,
  startsAt: NOW - H,
  endsAt: NOW + 20 * H,
  comment: 'x',
  ...over,
});
const input = (over: Partial<AlertmanagerInput> = {}): AlertmanagerInput => ({
  instanceId: ID,
  state: 'stopped',
  record: record(),
  now: NOW,
  view: { silences: [], imdsAlerts: [] },
  terminating: false,
  ...over,
});
const summary = (i: AlertmanagerInput) =>
  alertmanagerActions(i).map((a) =>
    a.kind === 'am-silence'
      ? { kind: a.kind, endsIn: a.endsAt - NOW, existing: a.existing?.id }
      : a.kind === 'am-expire'
        ? { kind: a.kind, silenceId: a.silenceId }
        : a.kind === 'am-alert'
          ? { kind: a.kind, firing: a.firing, endsIn: a.endsAt - NOW }
          : { kind: a.kind },
  );

describe('silenceFor', () => {
  it.each([
    ['stopping', false, 'hold'],
    ['stopped', false, 'hold'],
    ['running', false, 'lift'],
    ['running', true, 'hold'],
    ['terminated', false, 'ended'],
    ['gone', false, 'ended'],
    ['pending', false, 'keep'],
    ['shutting-down', false, 'keep'],
  ] as const)('%s (terminating: %s) → %s', (state, terminating, want) => {
    expect(silenceFor(state, { terminating })).toBe(want);
  });
});

describe('Alertmanager rules', () => {
  it.each<[string, Partial<AlertmanagerInput>, ReturnType<typeof summary>]>([
    ['stopped, no silence → one, 24 h ahead', {}, [{ kind: 'am-silence', endsIn: HOLD_MS, existing: undefined }]],
    ['stopping → the same', { state: 'stopping' }, [{ kind: 'am-silence', endsIn: HOLD_MS, existing: undefined }]],
    ['stopped, ours with 20 h left → nothing (converged)', { view: { silences: [silence()], imdsAlerts: [] } }, []],
    [
      'stopped, ours with 11 h left → extended in place to 24 h',
      { view: { silences: [silence({ endsAt: NOW + 11 * H })], imdsAlerts: [] } },
      [{ kind: 'am-silence', endsIn: HOLD_MS, existing: 's-1' }],
    ],
    [
      'stopped, two of ours → the shorter one expired',
      { view: { silences: [silence(), silence({ id: 's-2', endsAt: NOW + 13 * H })], imdsAlerts: [] } },
      [{ kind: 'am-expire', silenceId: 's-2' }],
    ],
    [
      'terminating (a running instance with a Spot/ASG warning) → held like a stopped one',
      { state: 'running', instance: instance(), terminating: true },
      [{ kind: 'am-silence', endsIn: HOLD_MS, existing: undefined }],
    ],
    [
      'running, ours → expired',
      { state: 'running', instance: instance(), view: { silences: [silence()], imdsAlerts: [] } },
      [{ kind: 'am-expire', silenceId: 's-1' }],
    ],
    ['running, none → nothing', { state: 'running', instance: instance() }, []],
    [
      'terminated 10 min ago → silenced until 30 min after the end',
      { state: 'terminated', record: record({ state: 'terminated', stateTime: NOW / 1000 - 600 }) },
      [{ kind: 'am-silence', endsIn: ENDED_MS - 600_000, existing: undefined }],
    ],
    [
      'terminated with a 24 h hold → shortened in place',
      {
        state: 'terminated',
        record: record({ state: 'terminated', stateTime: NOW / 1000 }),
        view: { silences: [silence()], imdsAlerts: [] },
      },
      [{ kind: 'am-silence', endsIn: ENDED_MS, existing: 's-1' }],
    ],
    [
      'terminated over 30 min ago → nothing',
      { state: 'terminated', record: record({ state: 'terminated', stateTime: NOW / 1000 - 3600 }) },
      [],
    ],
    [
      'gone, first run that misses it → 30 min from now',
      { state: 'gone', record: record({ goneAt: undefined }) },
      [{ kind: 'am-silence', endsIn: ENDED_MS, existing: undefined }],
    ],
    ['shutting-down → a silence that exists stays', { state: 'shutting-down', view: { silences: [silence()], imdsAlerts: [] } }, []],
    [
      'running with IMDS disabled → ImdsDisabled fires (re-posted each run)',
      { state: 'running', instance: instance({ httpEndpoint: 'disabled' }) },
      [{ kind: 'am-alert', firing: true, endsIn: ALERT_TTL_MS }],
    ],
    [
      'running with IMDS on and our alert firing → resolved (endsAt now)',
      { state: 'running', instance: instance(), view: { silences: [], imdsAlerts: [ID] } },
      [{ kind: 'am-alert', firing: false, endsIn: 0 }],
    ],
  ])('%s', (_name, over, want) => {
    expect(summary(input(over))).toEqual(want);
  });

  it('keys a new silence per instance and phase, so concurrent runs claim the same one', () => {
    const [a] = alertmanagerActions(input());
    const [b] = alertmanagerActions(input({ now: NOW + 60_000 }));
    expect(a?.key).toBe(`am-silence#${ID}@2#new`);
    expect(b?.key).toBe(a?.key);
  });
});
