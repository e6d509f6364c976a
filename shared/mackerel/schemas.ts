import { z } from 'zod';

/** Host statuses Mackerel knows. The host list defaults to working+standby, so a sweep asks for all four. */
export const HostStatus = z.enum(['working', 'standby', 'maintenance', 'poweroff']);
export type HostStatus = z.infer<typeof HostStatus>;
export const ALL_LIVE_STATUSES: readonly HostStatus[] = ['working', 'standby', 'maintenance', 'poweroff'];

export const HostInterface = z.looseObject({
  name: z.string().optional(),
  ipAddress: z.string().optional(),
  ipv4Addresses: z.array(z.string()).optional(),
});

export const CloudMeta = z.looseObject({
  provider: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const Host = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  displayName: z.string().optional().nullable(),
  customIdentifier: z.string().optional().nullable(),
  status: HostStatus,
  roles: z.record(z.string(), z.array(z.string())).default({}),
  isRetired: z.boolean().default(false),
  createdAt: z.number(),
  meta: z
    .looseObject({
      cloud: CloudMeta.optional().nullable(),
      'agent-version': z.string().optional(),
    })
    .default({}),
  interfaces: z.array(HostInterface).optional().nullable(),
});
export type Host = z.infer<typeof Host>;

/** Envelopes only: each host in them is read on its own (`host-read.ts`), so one odd host fails alone. */
export const HostsResponse = z.object({ hosts: z.array(z.unknown()) });
export const HostResponse = z.object({ host: z.unknown() });

export const MetricValue = z.object({ time: z.number(), value: z.number() });
/** `{"tsdbLatest": {hostId: {metricName: {time, value}}}}`; a host or metric without data is absent. */
export const TsdbLatestResponse = z.object({ tsdbLatest: z.record(z.string(), z.unknown()) });
/** One host's entry of `tsdbLatest`, read on its own like a host. */
export const TsdbLatestEntry = z.record(z.string(), MetricValue.nullable());

export const CheckStatus = z.enum(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']);
export type CheckStatus = z.infer<typeof CheckStatus>;
export const CheckReport = z.object({
  source: z.object({ type: z.literal('host'), hostId: z.string() }),
  name: z.string(),
  status: CheckStatus,
  message: z.string(),
  occurredAt: z.number(),
});
export type CheckReport = z.infer<typeof CheckReport>;

export const ErrorBody = z.object({ error: z.object({ message: z.string() }) });

/** Write endpoints answer `{"success": true}`; only "a JSON object" is relied on. */
export const SuccessResponse = z.looseObject({});

/** `POST /api/v0/graph-annotations` body: Mackerel's limits (api-docs) checked before sending. */
export const GraphAnnotation = z
  .object({
    title: z.string().min(1).max(250),
    description: z.string().max(1024),
    // epoch seconds: milliseconds would mark a span thousands of years ahead
    from: z.number().int().nonnegative().max(1e11, 'epoch seconds, not milliseconds'),
    to: z.number().int().nonnegative().max(1e11, 'epoch seconds, not milliseconds'),
    service: z.string().min(1),
    roles: z.array(z.string().min(1)).optional(),
  })
  .refine((a) => a.from <= a.to, { message: 'from is after to', path: ['from'] });
export type GraphAnnotation = z.infer<typeof GraphAnnotation>;

/** The answer is the annotation with its id; only the id is relied on. */
export const GraphAnnotationResponse = z.looseObject({ id: z.string().min(1) });
/**
 * One alert of `GET /api/v0/alerts` (api-docs content/api-docs/entry/alerts.md, mackerel-client-go alerts.go):
 * `hostId` only for host-bound types (connectivity, host metric, check); service, expression, external and
 * anomaly alerts have none.
 */
export const Alert = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  type: z.string(),
  monitorId: z.string().optional(),
  hostId: z.string().optional(),
  openedAt: z.number().optional(),
});
export type Alert = z.infer<typeof Alert>;

/** `nextId` is present only while older alerts remain. */
export const AlertsResponse = z.object({ alerts: z.array(Alert), nextId: z.string().optional() });
