/**
 * The Alertmanager effectors: silences created or changed in place, silences expired, alerts posted. Each kind is
 * one port call for the whole batch; the adapter makes its requests (Alertmanager has no bulk silence call) and
 * returns per-item outcomes. The port is absent while ALERTMANAGER_URL is unset: the rules then plan nothing.
 */
import { ReconcileError } from '../../errors.js';
import type { SilenceBackend } from '../ports.js';
import { IMDS_ALERT } from '../silences.js';
import type { ExpireSilenceAction, PostAlertAction, SilenceAction } from '../types.js';
import { type EffectContext, effector, fromBulk } from './effector.js';

const backendOf = (ctx: EffectContext): SilenceBackend => {
  if (!ctx.silences) throw new ReconcileError('the Alertmanager backend is off (ALERTMANAGER_URL is unset)');
  return ctx.silences;
};

export const silence = effector<SilenceAction>({
  kind: 'am-silence',
  backend: 'alertmanager',
  async perform(batch, ctx) {
    const res = await backendOf(ctx).putSilences(
      batch.map((a) => ({ instanceId: a.instanceId, endsAt: a.endsAt, comment: a.reason, existing: a.existing })),
    );
    return fromBulk(batch, (a) => a.instanceId, res);
  },
  describe: (a) => ({
    detail: { endsAt: new Date(a.endsAt).toISOString(), ...(a.existing ? { silenceId: a.existing.id } : {}) },
  }),
});

export const expireSilence = effector<ExpireSilenceAction>({
  kind: 'am-expire',
  backend: 'alertmanager',
  async perform(batch, ctx) {
    const res = await backendOf(ctx).expireSilences(batch.map((a) => a.silenceId));
    return fromBulk(batch, (a) => a.silenceId, res);
  },
  describe: (a) => ({ detail: { silenceId: a.silenceId } }),
});

export const postAlert = effector<PostAlertAction>({
  kind: 'am-alert',
  backend: 'alertmanager',
  async perform(batch, ctx) {
    const res = await backendOf(ctx).postAlerts(
      batch.map((a) => ({ alertname: a.alertname, instanceId: a.instanceId, endsAt: a.endsAt, summary: a.reason })),
    );
    return fromBulk(batch, (a) => a.instanceId, res);
  },
  describe: (a) => ({
    detail: { alertname: a.alertname ?? IMDS_ALERT, firing: a.firing, endsAt: new Date(a.endsAt).toISOString() },
  }),
});
