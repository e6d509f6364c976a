/** A table of figures, printed to the terminal or written as Markdown from the same rows. */

export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  /** columns to right-align (numbers) */
  numeric?: number[];
  notes?: string[];
}

export function renderText(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const right = new Set(t.numeric ?? []);
  const fmt = (r: string[]) =>
    `  ${r.map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()}`;
  const lines = [t.title, '─'.repeat(Math.min(110, t.title.length)), fmt(t.headers), fmt(widths.map((w) => '─'.repeat(w)))];
  for (const r of t.rows) lines.push(fmt(r));
  for (const n of t.notes ?? []) lines.push(`  · ${n}`);
  return lines.join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderMarkdown(t: Table, level = '####'): string {
  const right = new Set(t.numeric ?? []);
  const lines = [
    `${level} ${t.title}`,
    '',
    `| ${t.headers.map(cell).join(' | ')} |`,
    `|${t.headers.map((_, i) => (right.has(i) ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  if (t.notes?.length) lines.push('', ...t.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

// --- number formats ---

export const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** 0.42 ms, 12.3 ms, 1,234 ms */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n < 1) return `${n.toFixed(2)} ms`;
  if (n < 100) return `${n.toFixed(1)} ms`;
  return `${int(n)} ms`;
}

export const seconds = (msValue: number) => (Number.isFinite(msValue) ? `${(msValue / 1000).toFixed(2)} s` : '–');

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(2)} MiB`;
}

export const mb = (n: number) => `${n.toFixed(1)} MB`;

export const pct = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(1)} %` : '–');

export const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n >= 10 ? 0 : 1)}×` : '–');
