import { parseInput, ScheduledEvent } from '../../shared/events/schemas.js';
import { lambda } from '../../shared/handler.js';
import { runSweep } from '../../shared/reconcile/run.js';
import { hostListDeadline, runtimeFor } from '../../shared/runtime.js';

/** EventBridge schedule → reconcile the whole fleet of every configured region. */
export const handler = lambda('sweep', async (event, context) => {
  parseInput(ScheduledEvent, event ?? {}, 'scheduled event');
  const rt = await runtimeFor(context);
  return runSweep(rt, { trigger: 'sweep', hostListDeadline: hostListDeadline(context) });
});
