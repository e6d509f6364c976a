/**
 * Agent repair over SSM Run Command: one SendCommand per region (the adapter cuts batches of 50 instance ids).
 * A sent command leaves the `agent-repair` memo with its id (status UNKNOWN until a later run reads the result),
 * whose time bounds the next repair to one per AGENT_REPAIR_HOURS.
 */
import { ReconcileError } from '../../errors.js';
import { groupBy } from '../../util/concurrency.js';
import type { RepairAgentAction } from '../types.js';
import { effector, type Settled } from './effector.js';

/** The command id each done action got, for its commit (an action object belongs to one run). */
const sent = new WeakMap<RepairAgentAction, string>();

export const repairAgent = effector<RepairAgentAction>({
  kind: 'repair-agent',
  batch: (actions) => [...groupBy(actions, (a) => a.region).values()],
  async perform(batch, ctx): Promise<Settled<RepairAgentAction>[]> {
    const agents = ctx.agents;
    if (!agents) throw new ReconcileError('agent repair needs SSM, and this run has no SSM client');
    const region = batch[0]?.region ?? '';
    const res = await agents.reregisterAgents(region, batch.map((a) => a.instanceId));
    const ids = new Map(res.done.map((d) => [d.instanceId, d.commandId]));
    const failed = new Map(res.failed.map((f) => [f.id.instanceId, f.error]));
    return batch.map((action): Settled<RepairAgentAction> => {
      const commandId = ids.get(action.instanceId);
      if (commandId) {
        sent.set(action, commandId);
        return { action, outcome: 'done' };
      }
      return { action, outcome: 'failed', error: failed.get(action.instanceId) ?? new ReconcileError('no command sent') };
    });
  },
  describe: (a) => ({ detail: { region: a.region, cause: a.cause, hostIds: a.hostIds } }),
  commit(a, into, ctx) {
    const ref = sent.get(a);
    into.checks.push({ instanceId: a.instanceId, hostId: a.instanceId, name: 'agent-repair', status: 'UNKNOWN', changedAt: ctx.stamp(), ...(ref ? { ref } : {}) });
  },
});
