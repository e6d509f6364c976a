/**
 * Closes the open alerts of hosts this run powered off: ONE alerts listing per run (the adapter pages it with
 * `nextId`), then `close` per alert of those hosts only. An alert without a host (service, expression, external
 * monitors) is never touched. `Alerts Closed` is published only for a host that had any.
 */
import { ReconcileError } from '../../errors.js';
import { groupBy, mapLimit } from '../../util/concurrency.js';
import type { Alert, Finding } from '../../reconcile/model.js';
import type { CloseAlertsAction } from '../types.js';
import { effector, type Settled } from './effector.js';

const CLOSE_CONCURRENCY = 4;

const finding = (a: CloseAlertsAction, closed: readonly Alert[]): Finding => ({
  detailType: 'Alerts Closed',
  detail: {
    instanceId: a.instanceId,
    hostId: a.hostId,
    hostName: a.hostName,
    alertIds: closed.map((x) => x.id),
    alertTypes: [...new Set(closed.map((x) => x.type))].sort(),
    reason: a.reason,
  },
});

export const closeAlerts = effector<CloseAlertsAction>({
  kind: 'close-alerts',
  async perform(batch, ctx) {
    if (!ctx.alerts) throw new ReconcileError('no alerts backend to close alerts with');
    const desk = ctx.alerts;
    const wanted = new Set(batch.map((a) => a.hostId));
    const open = (await desk.listOpenAlerts()).filter((x) => x.hostId !== undefined && wanted.has(x.hostId));
    const byHost = groupBy(open, (x) => x.hostId as string);
    return mapLimit(batch, CLOSE_CONCURRENCY, async (action): Promise<Settled<CloseAlertsAction>> => {
      const mine = byHost.get(action.hostId) ?? [];
      try {
        for (const alert of mine) await desk.closeAlert(alert.id, action.reason);
      } catch (e) {
        return { action, outcome: 'failed', error: e as Error };
      }
      return { action, outcome: 'done', findings: mine.length > 0 ? [finding(action, mine)] : [], detail: { alertIds: mine.map((x) => x.id) } };
    });
  },
  describe: (a) => ({ hostId: a.hostId, detail: { hostName: a.hostName } }),
});
