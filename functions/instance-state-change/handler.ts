import { toInstanceEvent } from '../../shared/events/convert.js';
import { InstanceEvent, parseInput } from '../../shared/events/schemas.js';
import { lambda } from '../../shared/handler.js';
import { runEvents } from '../../shared/reconcile/run.js';
import { hostListDeadline, runtimeFor } from '../../shared/runtime.js';

/**
 * EventBridge "EC2 Instance State-change Notification" → reconcile that one instance; a Spot interruption warning
 * or an Auto Scaling terminate lifecycle action → power its hosts off now, held as terminating.
 */
export const handler = lambda('instance-state-change', async (event, context) => {
  const input = parseInput(InstanceEvent, event, 'EC2 instance event');
  const rt = await runtimeFor(context);
  return runEvents(rt, [toInstanceEvent(input)], {
    trigger: 'instance-state-change',
    hostListDeadline: hostListDeadline(context),
  });
});
