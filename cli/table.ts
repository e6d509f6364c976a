/**
 * Reports as text for a person: the planned actions as a table, each with its reason, then what the run
 * saw and held back (regions, circuit breaker, ambiguities, foreign hosts). With a width (a terminal) the
 * long columns are clipped to fit; without one (a file, a pipe) nothing is cut.
 */
import type { ActionResult, Outcome } from '../shared/reconcile/execute.js';
import type { Report } from '../shared/reconcile/run.js';

export interface Layout {
  /** terminal columns; undefined: no clipping */
  width?: number;
}

const n = (x: number) => x.toLocaleString('en-US');
export const plural = (count: number, word: string) => `${n(count)} ${word}${count === 1 ? '' : 's'}`;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`);

export interface Row {
  cells: string[];
  /** a sentence under the row (the reason, an error), indented; wrapped to a terminal's width */
  note?: string;
}

const NOTE_INDENT = '    ';

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Columns padded to their widest cell, each row's note on the lines below it. With a width (a terminal),
 * capped columns are clipped and notes wrapped; without one, nothing is cut.
 */
export function table(
  headers: readonly string[],
  rows: readonly Row[],
  layout: Layout = {},
  caps: readonly (number | undefined)[] = [],
): string {
  const cells = rows.map((r) =>
    r.cells.map((c, i) => {
      const text = oneLine(c);
      const cap = caps[i];
      return layout.width && cap !== undefined ? clip(text, cap) : text;
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [fmt(headers)];
  rows.forEach((r, i) => {
    out.push(fmt(cells[i] ?? []));
    const note = r.note ? oneLine(r.note) : '';
    if (!note) return;
    const lines = layout.width ? wrap(note, Math.max(20, layout.width - NOTE_INDENT.length - 1)) : [note];
    for (const l of lines) out.push(`${NOTE_INDENT}${l}`);
  });
  return out.map((l) => `${l}\n`).join('');
}

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

/** What the action changes, in a few words. */
export function change(a: ActionResult): string {
  const d = a.detail ?? {};
  switch (a.kind) {
    case 'retire':
      return '→ retired';
    case 'set-status':
      return `${str(d.from)} → ${str(d.to)}`;
    case 'merge-roles':
      return `roles → ${Array.isArray(d.roleFullnames) ? d.roleFullnames.join(',') : ''}`;
    case 'report-check':
      return `check ${str(d.name)}: ${str(d.status)}`;
    case 'enable-imds':
      return 'IMDS → enabled';
    case 'close-alerts':
      return 'open alerts → closed';
    case 'forget-memo':
      return `forget ${str(d.memo)} memo`;
    case 'am-silence':
      return `silence until ${str(d.endsAt)}`;
    case 'am-expire':
      return `expire silence ${str(d.silenceId)}`;
    case 'am-alert':
      return `alert ${str(d.alertname)}: ${d.firing ? 'firing' : 'resolved'}`;
    case 'repair-agent':
      return 'agent → re-registered (SSM)';
    case 'remember':
      return `note ${str(d.memo)}: ${str(d.status)}`;
  }
}

const hostName = (a: ActionResult) => str(a.detail?.hostName) || '-';

// On a terminal, NAME (a private DNS name is 40-odd characters) and CHANGE (a role list) are clipped.
const CAPS = [undefined, undefined, 28, undefined, undefined, 32];

export function actionsTable(actions: readonly ActionResult[], layout: Layout = {}): string {
  const rows = actions.map((a) => ({
    cells: [a.kind, a.hostId ?? '-', hostName(a), a.instanceId, a.instanceState ?? '-', change(a)],
    note: `why: ${a.reason}`,
  }));
  return table(['KIND', 'HOST', 'NAME', 'INSTANCE', 'STATE', 'CHANGE'], rows, layout, CAPS);
}

const NOTES: Partial<Record<Outcome, string>> = {
  'already-done': 'another run did it already',
  'in-progress': 'another run is doing it now',
  'not-confirmed': 'planned only after the confirmation: not performed, run again to review it',
  held: 'held back by the circuit breaker: not performed',
};

export function outcomesTable(actions: readonly ActionResult[], layout: Layout = {}): string {
  const rows = actions.map((a) => {
    const note = a.error ?? NOTES[a.outcome];
    return {
      cells: [a.outcome, a.kind, a.hostId ?? '-', hostName(a), a.instanceId, change(a)],
      note: note ? `${a.outcome === 'failed' ? 'error' : 'note'}: ${note}` : undefined,
    };
  });
  return table(['OUTCOME', 'KIND', 'HOST', 'NAME', 'INSTANCE', 'CHANGE'], rows, layout, [undefined, ...CAPS]);
}

/** "2 done, 1 failed": counts by key, in `order` (keys not in it last, as met). */
function countBy<T>(items: readonly T[], key: (t: T) => string, order: readonly string[] = []): string {
  const counts = new Map<string, number>(order.map((k) => [k, 0]));
  for (const i of items) counts.set(key(i), (counts.get(key(i)) ?? 0) + 1);
  return [...counts]
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${n(c)} ${k}`)
    .join(', ');
}

const OUTCOME_ORDER: readonly Outcome[] = [
  'done',
  'already-done',
  'in-progress',
  'blocked',
  'deferred',
  'failed',
  'not-confirmed',
  'held',
];

/** What the run read, what it held back and why: the lines under the table. */
export function summary(report: Report): string {
  const lines: string[] = [];
  const c = report.counts;
  const regions = report.regions
    .map((r) => `${r.region}: ${r.ok ? n(r.instanceCount) : 'FAILED'}`)
    .join(', ');
  lines.push(
    `Read: ${plural(c.hosts, 'Mackerel host')}; ${plural(c.instances, 'instance')} (${regions || 'no region'}); ` +
      `${plural(c.linkedHosts, 'host')} linked to instances of account ${report.accountId}`,
  );
  for (const r of report.regions.filter((x) => !x.ok)) {
    lines.push(`Region ${r.region} could not be read, so nothing is retired there: ${r.error ?? 'unknown error'}`);
  }
  const cb = report.circuitBreaker;
  if (cb?.tripped) {
    lines.push(
      `Circuit breaker: TRIPPED: ${plural(cb.retirements, 'retirement')} of ${plural(cb.ownedHosts, 'owned host')} ` +
        `is over the limit (${n(cb.maxPerRun)} a run, or ${cb.maxPercent}%): nothing will be retired`,
    );
  } else if (cb) {
    lines.push(
      `Circuit breaker: ok (${plural(cb.retirements, 'retirement')} of ${plural(cb.ownedHosts, 'owned host')}; ` +
        `limits ${n(cb.maxPerRun)} a run or ${cb.maxPercent}%)`,
    );
  } else {
    lines.push('Circuit breaker: not applied to given instances (as for a replay of instance ids)');
  }
  for (const a of report.ambiguities) {
    lines.push(`Ambiguous: host ${a.hostId} could be ${a.candidates.join(' or ')}: left alone`);
  }
  lines.push(
    `Foreign hosts: ${n(report.foreignHostIds.length)} (their instances were never seen by this account: left alone)`,
  );
  if (report.ignoredInstanceIds.length > 0) {
    lines.push(
      `Ignored: ${plural(report.ignoredInstanceIds.length, 'instance')} tagged mackerel-reconciler:ignore=true ` +
        `(${report.ignoredInstanceIds.join(', ')})`,
    );
  }
  if (report.unknownInstanceIds.length > 0) {
    lines.push(
      `Unknown state: ${plural(report.unknownInstanceIds.length, 'instance')} (${report.unknownInstanceIds.join(', ')}): left alone`,
    );
  }
  for (const w of report.warnings ?? []) lines.push(`Warning: ${w}`);
  const odd = report.unreadableHosts ?? [];
  if (odd.length > 0) {
    const shown = odd.slice(0, 10).map((u) => `${u.id ?? '(no id)'} ${u.field}: ${u.problem}`);
    lines.push(
      `Unreadable: ${plural(odd.length, 'host')} of the wrong shape, left alone (the rest was reconciled): ` +
        `${shown.join('; ')}${odd.length > 10 ? `; and ${n(odd.length - 10)} more` : ''}`,
    );
  }
  const findings = Object.entries(report.findings.detailTypes)
    .map(([t, k]) => `${t} ×${k}`)
    .join(', ');
  if (report.dryRun) {
    if (findings) lines.push(`Findings it would publish: ${findings}`);
  } else {
    lines.push(
      `Findings published: ${n(report.findings.published)}${report.findings.failed > 0 ? `, ${n(report.findings.failed)} FAILED` : ''}` +
        (findings ? ` (${findings})` : ''),
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** A dry-run report: the planned actions, what a guard holds back, then the summary. */
export function renderPlan(report: Report, layout: Layout = {}): string {
  const out: string[] = [];
  const planned = report.actions.filter((a) => a.outcome !== 'held');
  const held = report.actions.filter((a) => a.outcome === 'held');
  const failed = report.regions.filter((r) => !r.ok).map((r) => r.region);
  if (failed.length > 0) {
    // Never "No changes" when part of the fleet could not be read: nothing is known about it.
    out.push(
      `Incomplete: EC2 could not be read in ${failed.join(', ')} (below); the plan covers only what was read.\n`,
    );
  }
  if (planned.length === 0 && held.length === 0) {
    if (failed.length === 0) out.push('No changes: the Mackerel hosts of this account’s instances match EC2.\n');
  } else if (planned.length === 0) {
    out.push('No changes will be made, but some are held back (below).\n');
  } else {
    if (failed.length > 0) out.push('\n');
    out.push(
      `Plan: ${plural(planned.length, 'action')} (${countBy(planned, (a) => a.kind)})\n\n`,
      actionsTable(planned, layout),
      '\n',
    );
  }
  if (held.length > 0) out.push(heldSection(report, held, layout));
  out.push(summary(report));
  return out.join('');
}

/** The retirements the circuit breaker holds back, the limits, and how to get past it deliberately. */
function heldSection(report: Report, held: readonly ActionResult[], layout: Layout): string {
  const cb = report.circuitBreaker;
  const limits = cb ? ` (limits: ${n(cb.maxPerRun)} a run, or ${cb.maxPercent}% of ${plural(cb.ownedHosts, 'owned host')})` : '';
  return [
    `\nHeld back by the circuit breaker: ${plural(held.length, 'retirement')}${limits}; none will be performed:\n\n`,
    actionsTable(held, layout),
    '\nIf these retirements are real (a big scale-in, an environment torn down), retire them deliberately: for\n',
    `this run only, \`apply --max-retire ${cb?.retirements ?? held.length} --max-retire-percent 100\` (confirmed like any\n`,
    'apply); or replay their instance ids (`{"instanceIds": [...]}`, not subject to the breaker).\n\n',
  ].join('');
}

/** A real run's report: what became of each action, then the summary. */
export function renderOutcomes(report: Report, layout: Layout = {}): string {
  const out: string[] = [];
  if (report.actions.length === 0) out.push('No actions were planned.\n');
  else {
    out.push(
      `Applied: ${countBy(report.actions, (a) => a.outcome, OUTCOME_ORDER)}\n\n`,
      outcomesTable(report.actions, layout),
      '\n',
    );
  }
  out.push(summary(report));
  return out.join('');
}
