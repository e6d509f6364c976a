import { Ec2StateChangeEvent, parseInput } from '../../shared/events/schemas.js';
import { lambda } from '../../shared/handler.js';
import { runEvents } from '../../shared/reconcile/run.js';
import { hostListDeadline, runtimeFor } from '../../shared/runtime.js';

/** EventBridge "EC2 Instance State-change Notification" → reconcile that one instance. */
export const handler = lambda('instance-state-change', async (event, context) => {
  const input = parseInput(Ec2StateChangeEvent, event, 'EC2 state-change event');
  const rt = await runtimeFor(context);
  return runEvents(rt, [input], {
    trigger: 'instance-state-change',
    hostListDeadline: hostListDeadline(context),
  });
});
