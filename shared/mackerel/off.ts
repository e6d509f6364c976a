/**
 * The host directory while Mackerel is off (MACKEREL_APIKEY unset, ALERTMANAGER_URL set): no hosts, no request.
 * Instances are still observed and recorded, so the Alertmanager rules see the same fleet. A write here would
 * mean a rule planned a Mackerel action without a host: it fails loudly instead of pretending.
 */
import { ReconcileError } from '../errors.js';
import type { BulkOutcome, Counted, HostDirectory, HostListing, LatestMetricsResult } from '../reconcile/ports.js';

const empty = (): HostListing => ({ hosts: [], unreadable: [], bytes: 0, durationMs: 0 });
const off = () => Promise.reject(new ReconcileError('Mackerel is off (MACKEREL_APIKEY is unset)'));

export class MackerelOff implements HostDirectory, Counted {
  readonly stats = { retries: 0 };
  listHosts = () => Promise.resolve(empty());
  findHosts = () => Promise.resolve(empty());
  lookupHost = () => Promise.resolve({ hosts: [], unreadable: [] });
  latestMetrics = (): Promise<LatestMetricsResult> => Promise.resolve({ latest: {}, unreadable: [] });
  retireHosts = (): Promise<BulkOutcome> => off();
  updateHostStatuses = (): Promise<BulkOutcome> => off();
  updateRoleFullnames = (): Promise<void> => off();
  postCheckReports = (): Promise<never> => off();
}
