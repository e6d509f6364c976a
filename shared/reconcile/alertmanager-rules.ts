/**
 * The Alertmanager backend's rules (docs/design.md, "A new backend"), keyed by the same effective states as
 * the Mackerel rules and planned only while the backend is on (the observation carries its view):
 *
 *   stopping/stopped (or terminating)  one silence on the instance label, 24 h ahead; extended to 24 h again
 *                                      once less than 12 h remain, so a converged fleet writes nothing most runs
 *   terminated/gone                    a silence until 30 minutes after the end, while service discovery drops it
 *   running                            this service's silence is expired; IMDS disabled → an `ImdsDisabled` alert,
 *                                      re-posted each run (Alertmanager resolves an alert that is not), resolved
 *                                      (endsAt now) once IMDS is on again
 *   pending, shutting-down             nothing: a silence that exists stays
 *
 * Never two silences for one instance: a second one of this service is expired. Silences made by people are
 * not in the view at all (the adapter keeps only `createdBy: mackerel-reconciler` with our one matcher).
 */
import type { Instance } from './model.js';
import { IMDS_ALERT, type Silence, type AlertmanagerView } from './silences.js';
import type { Action, EffectiveState, ExpireSilenceAction, InstanceRecord, PostAlertAction, SilenceAction } from './types.js';

const HOUR_MS = 3_600_000;
export const HOLD_MS = 24 * HOUR_MS;
/** a hold silence with less than this left is extended to HOLD_MS again */
export const EXTEND_BELOW_MS = 12 * HOUR_MS;
export const ENDED_MS = 30 * 60_000;
/** a firing alert is re-posted every run; without one for this long, Alertmanager resolves it */
export const ALERT_TTL_MS = HOUR_MS;
/** an ended silence within this of its target is left as it is */
const SLACK_MS = 60_000;

/** Which silence an instance in this state wants. `terminating` (a Spot or ASG warning) counts as stopped. */
export type SilenceKind = 'hold' | 'ended' | 'lift' | 'keep';

export function silenceFor(state: EffectiveState, opts: { terminating: boolean }): SilenceKind {
  if (state === 'stopping' || state === 'stopped') return 'hold';
  if (state === 'terminated' || state === 'gone') return 'ended';
  if (state === 'running') return opts.terminating ? 'hold' : 'lift';
  return 'keep';
}

export interface AlertmanagerInput {
  instanceId: string;
  state: EffectiveState;
  instance?: Instance;
  record?: InstanceRecord;
  /** epoch ms */
  now: number;
  view: AlertmanagerView;
  /** a Spot interruption or ASG termination warning for it arrived in this run, or its restore memo still holds */
  terminating: boolean;
  /** TERMINATING_HOLD_MINUTES: how long a silence made for a warning holds while the instance still runs */
  holdMinutes?: number;
}

/** Written into the comment of a silence made for an early signal: Alertmanager itself remembers the warning. */
export const TERMINATING_MARK = 'is being terminated';

/**
 * Terminating: told by this run (the event, or a Mackerel restore memo), or remembered by our own silence made for
 * the warning within the hold, so that Alertmanager alone (no Mackerel hosts, no memo) holds it just as long.
 */
function terminatingNow(i: AlertmanagerInput, mine: readonly Silence[]): boolean {
  if (i.terminating) return true;
  const holdMs = (i.holdMinutes ?? 60) * 60_000;
  return mine.some((s) => s.comment.includes(TERMINATING_MARK) && i.now - s.startsAt < holdMs);
}

const base = (i: AlertmanagerInput, reason: string) => ({
  instanceId: i.instanceId,
  instanceState: i.state,
  reason,
  findings: [],
});

/** When an ended instance ended (epoch ms): the stop of its record's state, or the first run that missed it. */
function endedAt(i: AlertmanagerInput): number {
  if (i.state === 'gone') return i.record?.goneAt !== undefined ? i.record.goneAt * 1000 : i.now;
  return i.record ? i.record.stateTime * 1000 : i.now;
}

function silenceAction(i: AlertmanagerInput, endsAt: number, reason: string, existing?: Silence): SilenceAction {
  // One key per instance, phase and target hour: concurrent runs (an event beside a sweep) claim the same one.
  const target = existing ? `${existing.id}#${Math.floor(endsAt / HOUR_MS)}` : 'new';
  return {
    kind: 'am-silence',
    key: `am-silence#${i.instanceId}@${i.record?.version ?? 0}#${target}`,
    ...base(i, reason),
    endsAt,
    ...(existing ? { existing: { id: existing.id, startsAt: existing.startsAt } } : {}),
  };
}

const expireAction = (i: AlertmanagerInput, s: Silence, reason: string): ExpireSilenceAction => ({
  kind: 'am-expire',
  key: `am-expire#${s.id}`,
  ...base(i, reason),
  silenceId: s.id,
});

function planSilence(i: AlertmanagerInput, kind: SilenceKind, mine: Silence[]): Action[] {
  // The longest-lasting silence is kept; any other one of ours for the instance is a second one: expired.
  const [kept, ...extra] = [...mine].sort((a, b) => b.endsAt - a.endsAt || (a.id < b.id ? -1 : 1));
  const extras = extra.map((s) => expireAction(i, s, `second silence for instance ${i.instanceId}`));
  if (kind === 'keep') return extras;
  if (kind === 'lift') {
    return [...extras, ...(kept ? [expireAction(i, kept, `instance ${i.instanceId} is running again`)] : [])];
  }
  if (kind === 'hold') {
    const why = i.state === 'running' ? TERMINATING_MARK : `is ${i.state}`;
    const reason = `instance ${i.instanceId} ${why}: silenced by mackerel-reconciler`;
    if (kept && kept.endsAt - i.now >= EXTEND_BELOW_MS) return extras;
    return [...extras, silenceAction(i, i.now + HOLD_MS, reason, kept)];
  }
  const until = endedAt(i) + ENDED_MS;
  if (until <= i.now) return extras;
  const reason = `instance ${i.instanceId} is ${i.state === 'gone' ? 'gone' : 'terminated'}: silenced while service discovery drops it`;
  if (kept && Math.abs(kept.endsAt - until) <= SLACK_MS) return extras;
  return [...extras, silenceAction(i, until, reason, kept)];
}

function alertAction(i: AlertmanagerInput, firing: boolean): PostAlertAction {
  // Re-posted each run by design; runs within the same ten minutes share a key and post once.
  const bucket = Math.floor(i.now / 600_000);
  return {
    kind: 'am-alert',
    key: `am-alert#${IMDS_ALERT}#${i.instanceId}#${firing ? 'firing' : 'resolved'}#${bucket}`,
    ...base(
      i,
      firing
        ? `instance ${i.instanceId} has IMDS disabled (MetadataOptions.HttpEndpoint=disabled)`
        : `instance ${i.instanceId} has IMDS enabled again`,
    ),
    alertname: IMDS_ALERT,
    firing,
    endsAt: firing ? i.now + ALERT_TTL_MS : i.now,
  };
}

function planAlert(i: AlertmanagerInput): Action[] {
  const disabled = i.state === 'running' && i.instance?.httpEndpoint === 'disabled';
  if (disabled) return [alertAction(i, true)];
  return i.view.imdsAlerts.includes(i.instanceId) ? [alertAction(i, false)] : [];
}

/** Every Alertmanager action for one owned, not opted-out instance whose state is known. */
export function alertmanagerActions(i: AlertmanagerInput): Action[] {
  const mine = i.view.silences.filter((s) => s.instanceId === i.instanceId);
  return [...planSilence(i, silenceFor(i.state, { terminating: terminatingNow(i, mine) }), mine), ...planAlert(i)];
}
