import { splitEvents } from '../../shared/events/convert.js';
import { parseInput, ReplayPayload } from '../../shared/events/schemas.js';
import { lambda } from '../../shared/handler.js';
import { mergeReports } from '../../shared/reconcile/report-merge.js';
import { runEvents, runInstances, runSweep, runTaskEvents } from '../../shared/reconcile/run.js';
import { hostListDeadline, runtimeFor } from '../../shared/runtime.js';

/** Manual invoke: `{"events": […]}`, `{"instanceIds": […]}` or `{"sweep": {"regions"?: […]}}`, each with `dryRun`. */
export const handler = lambda('replay', async (event, context) => {
  const payload = parseInput(ReplayPayload, event, 'replay payload');
  const rt = await runtimeFor(context);
  const opts = {
    trigger: 'replay' as const,
    dryRun: payload.dryRun,
    hostListDeadline: hostListDeadline(context),
  };
  if (payload.events) {
    const { instances, tasks } = splitEvents(payload.events);
    if (tasks.length === 0) return runEvents(rt, instances, opts);
    if (instances.length === 0) return runTaskEvents(rt, tasks, opts);
    return mergeReports(await runEvents(rt, instances, opts), await runTaskEvents(rt, tasks, opts));
  }
  if (payload.instanceIds) return runInstances(rt, payload.instanceIds, opts);
  return runSweep(rt, { ...opts, regions: payload.sweep?.regions });
});
