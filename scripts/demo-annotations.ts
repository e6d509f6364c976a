/**
 * `npm start`'s graph-annotation section: what the sandbox's Mackerel now shows on its services' graphs, and
 * whether that is what the runs did — one annotation per service whose hosts a run retired or powered off, none
 * for a dry run. The expectation is counted from the sandbox's own hosts (their roles), not from the reconciler.
 */
import type { Sandbox } from '../sandbox/index.js';
import type { Report } from '../shared/reconcile/run.js';

/** Services whose hosts this run really retired or powered off, from the sandbox's view of those hosts. */
function servicesActedOn(sb: Sandbox, report: Report): string[] {
  const services = new Set<string>();
  for (const a of report.actions) {
    const acted = a.kind === 'retire' || (a.kind === 'set-status' && a.detail?.to === 'poweroff');
    if (!acted || a.outcome !== 'done' || a.hostId === undefined) continue;
    for (const s of Object.keys(sb.mackerel.hosts.get(a.hostId)?.roles ?? {})) services.add(s);
  }
  return [...services].sort();
}

/** Prints the annotations the runs made; returns what is wrong (empty when every run marked what it did). */
export function showAnnotations(sb: Sandbox, runs: Record<string, Report>): string[] {
  const problems: string[] = [];
  const title = 'Graph annotations in Mackerel (one per service a run retired or powered off hosts of)';
  console.log(`\n${title}\n${'─'.repeat(title.length)}`);
  const stored = new Map(sb.mackerel.graphAnnotations.map((a) => [a.id, a]));
  let expectedTotal = 0;
  for (const [run, report] of Object.entries(runs)) {
    const expected = report.dryRun ? [] : servicesActedOn(sb, report);
    expectedTotal += expected.length;
    const posted = report.annotations?.posted ?? [];
    const got = posted.map((p) => p.service).sort();
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      problems.push(`${run}: annotated [${got.join(', ')}], expected [${expected.join(', ')}]`);
    }
    for (const f of report.annotations?.failed ?? []) problems.push(`${run}: annotation for ${f.service} failed: ${f.error}`);
    if (posted.length === 0) {
      console.log(`  ${run}: none${report.dryRun ? ' (a dry run marks nothing)' : ''}`);
      continue;
    }
    console.log(`  ${run}:`);
    for (const p of posted) {
      const a = stored.get(p.id);
      if (a === undefined) {
        problems.push(`${run}: annotation ${p.id} for ${p.service} is not in Mackerel`);
        continue;
      }
      const span = `${new Date(a.from * 1000).toISOString().slice(11, 19)}–${new Date(a.to * 1000).toISOString().slice(11, 19)}`;
      console.log(`    [${a.service}] ${a.title}  (${span} UTC)`);
      for (const l of (a.description ?? '').split('\n')) console.log(`        ${l}`);
    }
    const loose = report.annotations?.hostsWithoutService ?? [];
    if (loose.length > 0) console.log(`    (no service, not annotated: ${loose.join(', ')})`);
  }
  if (sb.mackerel.graphAnnotations.length !== expectedTotal) {
    problems.push(`Mackerel holds ${sb.mackerel.graphAnnotations.length} annotations, the runs should have made ${expectedTotal}`);
  }
  if (expectedTotal === 0) problems.push('no run retired or powered off a host of any service: nothing showed the annotations');
  return problems;
}
