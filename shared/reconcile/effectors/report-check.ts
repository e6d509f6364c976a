/** Check monitoring reports: one bulk call (the adapter cuts batches of 100); done ones are remembered. */
import type { CheckReport } from '../model.js';
import type { ReportCheckAction } from '../types.js';
import { effector, fromBulk } from './effector.js';

/** Mackerel keeps the first 1024 characters of a check message. */
const MESSAGE_LIMIT = 1024;

export const reportCheck = effector<ReportCheckAction>({
  kind: 'report-check',
  async perform(batch, ctx) {
    const occurredAt = ctx.stamp();
    const reports = new Map<ReportCheckAction, CheckReport>(
      batch.map((a) => [
        a,
        {
          source: { type: 'host', hostId: a.hostId },
          name: a.name,
          status: a.status,
          message: a.message.slice(0, MESSAGE_LIMIT),
          occurredAt,
        },
      ]),
    );
    const res = await ctx.hosts.postCheckReports([...reports.values()]);
    return fromBulk(batch, (a) => reports.get(a), res);
  },
  describe: (a) => ({ hostId: a.hostId, detail: { name: a.name, status: a.status } }),
  commit(a, into, ctx) {
    into.checks.push({ instanceId: a.instanceId, hostId: a.hostId, name: a.name, status: a.status, changedAt: ctx.stamp() });
  },
});
