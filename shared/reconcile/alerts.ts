/**
 * Closing what a status change leaves open: Mackerel documents that setting a host `poweroff` does not close its
 * open alerts (a retirement does). Each poweroff this service plans gets a close-alerts action that waits for it;
 * the effector lists the open alerts once per run and closes only those of the powered-off hosts.
 */
import type { Action, CloseAlertsAction, Policy, SetStatusAction } from './types.js';

const isPowerOff = (a: Action): a is SetStatusAction => a.kind === 'set-status' && a.to === 'poweroff' && !a.restoring;

/** A close-alerts action for each poweroff the plan makes (only with an alerts backend). */
export function closeAlertsFor(actions: readonly Action[], policy: Pick<Policy, 'closeAlerts'>): CloseAlertsAction[] {
  if (!policy.closeAlerts) return [];
  return actions.filter(isPowerOff).map((a) => ({
    kind: 'close-alerts',
    // one per poweroff: the status key already names host, instance and cycle
    key: `alerts#${a.key.replace(/^status#/, '')}`,
    instanceId: a.instanceId,
    ...(a.instanceState ? { instanceState: a.instanceState } : {}),
    hostId: a.hostId,
    hostName: a.hostName,
    dependsOn: a.key,
    reason: `${a.reason}: host ${a.hostName} set to poweroff by mackerel-reconciler`,
    findings: [],
  }));
}
