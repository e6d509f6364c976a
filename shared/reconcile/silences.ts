/**
 * The Alertmanager backend in the domain's words (docs/design.md, "A new backend"): silences this service made
 * and the alerts it posted, as the adapter (`shared/alertmanager/client.ts`) reads them. Plain types only.
 */

/** Who made a silence: how this service finds its own again (silences made by people are never touched). */
export const SILENCE_CREATOR = 'mackerel-reconciler';

/** The alert raised for an instance whose metadata service is off. */
export const IMDS_ALERT = 'ImdsDisabled';

/** One of this service's silences: one equality matcher on the instance label. */
export interface Silence {
  id: string;
  instanceId: string;
  /** epoch ms, as Alertmanager stores them (the update of a silence keeps its startsAt, see the adapter) */
  startsAt: number;
  endsAt: number;
  comment: string;
}

/** What a run saw in Alertmanager: present only while the backend is on. */
export interface AlertmanagerView {
  /** this service's active or pending silences, every one (two for one instance are reconciled to one) */
  silences: Silence[];
  /** instances with an `ImdsDisabled` alert of this service still firing */
  imdsAlerts: string[];
}

/** A silence to create (no id) or to change in place (its id and startsAt). */
export interface SilenceSpec {
  instanceId: string;
  endsAt: number;
  comment: string;
  /** the silence to update: Alertmanager keeps its id only if matchers and startsAt are sent unchanged */
  existing?: { id: string; startsAt: number };
}

/** An alert to post: firing until `endsAt`, or resolved (endsAt now). */
export interface AlertSpec {
  alertname: string;
  instanceId: string;
  endsAt: number;
  summary: string;
}
