import { parseInput, ReplayPayload } from '../../shared/events/schemas.js';
import { lambda } from '../../shared/handler.js';
import { runEvents, runInstances, runSweep } from '../../shared/reconcile/run.js';
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
  if (payload.events) return runEvents(rt, payload.events, opts);
  if (payload.instanceIds) return runInstances(rt, payload.instanceIds, opts);
  return runSweep(rt, { ...opts, regions: payload.sweep?.regions });
});
