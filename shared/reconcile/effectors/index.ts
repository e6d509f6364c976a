/**
 * The effector registry: every action kind's effector, in the order a run performs them (roles are merged
 * before the duplicates that wait for them are retired; memos are forgotten after the retirements they wait
 * for). A new action kind is a new effector file and one line here; the type makes the line required.
 */
import type { Action, ActionKind } from '../types.js';
import { expireSilence, postAlert, silence } from './alertmanager.js';
import { closeAlerts } from './close-alerts.js';
import type { Effector } from './effector.js';
import { enableImds } from './enable-imds.js';
import { forgetMemo } from './forget-memo.js';
import { mergeRoles } from './merge-roles.js';
import { remember } from './remember.js';
import { repairAgent } from './repair-agent.js';
import { reportCheck } from './report-check.js';
import { retire } from './retire.js';
import { setStatus } from './set-status.js';

type Registry = { [K in ActionKind]: Effector<Extract<Action, { kind: K }>> };

export const EFFECTORS = {
  'merge-roles': mergeRoles,
  'set-status': setStatus,
  'close-alerts': closeAlerts,
  'report-check': reportCheck,
  'enable-imds': enableImds,
  retire,
  'forget-memo': forgetMemo,
  'am-silence': silence,
  'am-expire': expireSilence,
  'am-alert': postAlert,
  'repair-agent': repairAgent,
  remember,
} as const satisfies Registry;

/** Kinds in the order they are performed (and listed in a plan). */
export const KIND_ORDER: readonly ActionKind[] = Object.keys(EFFECTORS) as ActionKind[];

/** The effectors in the order a run performs them (the registry's type guarantees each takes its kind's actions). */
export const ORDERED = Object.values(EFFECTORS) as readonly Effector<Action>[];

/** The effector of an action. */
export const effectorOf = (a: Action): Effector<Action> => EFFECTORS[a.kind] as unknown as Effector<Action>;
