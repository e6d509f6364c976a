/**
 * Closes the open alerts of a host this run powered off (listed once for the run by `planAlertClosures`), one
 * `POST /api/v0/alerts/<id>/close` each, with a reason naming the instance. An alert closed meanwhile (by a person,
 * or because it recovered) is not an error of ours: the adapter's 4xx on it fails only this host's action.
 */
import { ReconcileError } from '../../errors.js';
import type { CloseAlertsAction } from '../types.js';
import { perAction } from './effector.js';

export const closeAlerts = perAction<CloseAlertsAction>({
  kind: 'close-alerts',
  concurrency: 4,
  async call(a, ctx) {
    if (!ctx.alerts) throw new ReconcileError('no alerts backend to close alerts with');
    for (const id of a.alertIds) await ctx.alerts.closeAlert(id, a.reason);
  },
  describe: (a) => ({ hostId: a.hostId, detail: { hostName: a.hostName, alertIds: a.alertIds } }),
});
