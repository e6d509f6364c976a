import { toTaskEvent } from '../../shared/events/convert.js';
import { EcsTaskStateChangeEvent, parseInput } from '../../shared/events/schemas.js';
import { lambda } from '../../shared/handler.js';
import { runTaskEvents } from '../../shared/reconcile/run.js';
import { hostListDeadline, runtimeFor } from '../../shared/runtime.js';

/** EventBridge "ECS Task State Change" → re-check that task and retire its hosts once it is STOPPED. */
export const handler = lambda('task-state-change', async (event, context) => {
  const input = parseInput(EcsTaskStateChangeEvent, event, 'ECS task state-change event');
  const rt = await runtimeFor(context);
  return runTaskEvents(rt, [toTaskEvent(input)], {
    trigger: 'task-state-change',
    hostListDeadline: hostListDeadline(context),
  });
});
