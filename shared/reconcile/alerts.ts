/**
 * Closing what a status change leaves open: Mackerel documents that setting a host `poweroff` does not close its
 * open alerts (a retirement does). After planning, a run that powers hosts off lists the open alerts ONCE
 * (`planAlertClosures`, paged by the adapter; no listing when no poweroff is planned), and each powered-off host
 * with open alerts gets a close-alerts action that waits for its poweroff (`closeAlertsFor`, pure). Alerts
 * without a host (service, expression, external monitors) and alerts of other hosts are never touched.
 */
import type { Alert, Finding } from './model.js';
import type { AlertDesk } from './ports.js';
import type { Action, CloseAlertsAction, Plan, Policy, SetStatusAction } from './types.js';

const isPowerOff = (a: Action): a is SetStatusAction => a.kind === 'set-status' && a.to === 'poweroff' && !a.restoring;

export const plansPowerOff = (actions: readonly Action[]) => actions.some(isPowerOff);

/** A close-alerts action for each poweroff whose host has open alerts (pure: the alerts are given). */
export function closeAlertsFor(actions: readonly Action[], open: readonly Alert[]): CloseAlertsAction[] {
  const byHost = new Map<string, Alert[]>();
  for (const a of open) {
    if (a.hostId === undefined) continue;
    const list = byHost.get(a.hostId);
    if (list) list.push(a);
    else byHost.set(a.hostId, [a]);
  }
  return actions.filter(isPowerOff).flatMap((a) => {
    const alerts = [...(byHost.get(a.hostId) ?? [])].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    if (alerts.length === 0) return [];
    const reason = `${a.reason}: host ${a.hostName} set to poweroff by mackerel-reconciler`;
    const finding: Finding = {
      detailType: 'Alerts Closed',
      detail: {
        instanceId: a.instanceId,
        hostId: a.hostId,
        hostName: a.hostName,
        alertIds: alerts.map((x) => x.id),
        alertTypes: [...new Set(alerts.map((x) => x.type))].sort(),
        reason,
      },
    };
    const action: CloseAlertsAction = {
      kind: 'close-alerts',
      // one per poweroff: the status key already names host, instance and cycle
      key: `alerts#${a.key.replace(/^status#/, '')}`,
      instanceId: a.instanceId,
      ...(a.instanceState ? { instanceState: a.instanceState } : {}),
      hostId: a.hostId,
      hostName: a.hostName,
      alertIds: alerts.map((x) => x.id),
      dependsOn: a.key,
      reason,
      findings: [finding],
    };
    return [action];
  });
}

/**
 * The plan with its alert closures: one listing when a poweroff is planned. A listing that fails leaves the
 * poweroffs to go ahead and is returned as `error` (the report says so): alerts stay open, nothing is guessed.
 */
export async function planAlertClosures(
  p: Plan,
  desk: AlertDesk | undefined,
  policy: Pick<Policy, 'closeAlerts'>,
): Promise<{ plan: Plan; error?: string }> {
  if (!policy.closeAlerts || !desk || !plansPowerOff(p.actions)) return { plan: p };
  let open: Alert[];
  try {
    open = await desk.listOpenAlerts();
  } catch (e) {
    return { plan: p, error: `open alerts could not be listed, none closed: ${(e as Error).message}` };
  }
  const closures = closeAlertsFor(p.actions, open);
  if (closures.length === 0) return { plan: p };
  return { plan: { ...p, actions: [...p.actions, ...closures] } };
}
