/**
 * Alertmanager API v2 responses, as far as the reconciler reads them (unknown fields ignored). Observed on
 * Alertmanager 0.25 (Debian bookworm's prometheus-alertmanager), see docs/alertmanager.md.
 */
import { z } from 'zod';

const Timestamp = z.string().refine((s) => Number.isFinite(Date.parse(s)), { message: 'not an RFC 3339 time' });

export const Matcher = z.object({
  name: z.string(),
  value: z.string(),
  isRegex: z.boolean(),
  /** absent in silences made before 0.22: equality */
  isEqual: z.boolean().optional(),
});

export const GettableSilence = z.object({
  id: z.string().min(1),
  status: z.object({ state: z.enum(['active', 'pending', 'expired']) }),
  createdBy: z.string(),
  comment: z.string(),
  startsAt: Timestamp,
  endsAt: Timestamp,
  matchers: z.array(Matcher),
});
export type GettableSilence = z.infer<typeof GettableSilence>;

export const GettableSilences = z.array(GettableSilence);

export const PostSilenceResponse = z.object({ silenceID: z.string().min(1) });

export const GettableAlert = z.object({
  labels: z.record(z.string(), z.string()),
  endsAt: Timestamp,
  status: z.object({ state: z.string() }),
});

export const GettableAlerts = z.array(GettableAlert);
