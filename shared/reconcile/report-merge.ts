/** A replay of instance and task events runs twice; its caller gets one report (the first run's id). */
import type { Report } from './run.js';

export function mergeReports(a: Report, b: Report): Report {
  const counts = { ...a.counts };
  for (const k of Object.keys(counts) as (keyof Report['counts'])[]) {
    counts[k] = k === 'hosts' || k === 'foreignHosts' ? Math.max(a.counts[k], b.counts[k]) : a.counts[k] + b.counts[k];
  }
  const detailTypes = { ...a.findings.detailTypes };
  for (const [k, v] of Object.entries(b.findings.detailTypes)) detailTypes[k] = (detailTypes[k] ?? 0) + v;
  const status = a.status === 'partial' || b.status === 'partial' ? 'partial' : a.status;
  return {
    ...a,
    status,
    durationMs: a.durationMs + b.durationMs,
    regions: [...a.regions, ...b.regions],
    counts,
    actions: [...a.actions, ...b.actions],
    findings: { published: a.findings.published + b.findings.published, failed: a.findings.failed + b.findings.failed, detailTypes },
    ambiguities: [...a.ambiguities, ...b.ambiguities],
    foreignHostIds: [...new Set([...a.foreignHostIds, ...b.foreignHostIds])],
    ignoredInstanceIds: [...a.ignoredInstanceIds, ...b.ignoredInstanceIds],
    unknownInstanceIds: [...a.unknownInstanceIds, ...b.unknownInstanceIds],
    unreadableHosts: [...a.unreadableHosts, ...b.unreadableHosts],
    errors: [...a.errors, ...b.errors],
    events: [...(a.events ?? []), ...(b.events ?? [])],
    apiRetries: { mackerel: a.apiRetries.mackerel + b.apiRetries.mackerel, ec2: a.apiRetries.ec2 + b.apiRetries.ec2 },
    ...(a.ignoredTaskArns || b.ignoredTaskArns ? { ignoredTaskArns: [...(a.ignoredTaskArns ?? []), ...(b.ignoredTaskArns ?? [])] } : {}),
    ...(a.unknownTaskArns || b.unknownTaskArns ? { unknownTaskArns: [...(a.unknownTaskArns ?? []), ...(b.unknownTaskArns ?? [])] } : {}),
  };
}
