/** The progress line: plain lines off a terminal, one line redrawn in place on it; and the stderr logger. */
import { describe, expect, it } from 'vitest';
import type { Output } from '../../cli/io.js';
import { cliLogger } from '../../cli/log.js';
import { ProgressLine } from '../../cli/progress.js';

function sink(tty: boolean, columns?: number): Output & { text: string } {
  const out = {
    text: '',
    isTTY: tty,
    columns,
    write(chunk: string) {
      out.text += chunk;
      return true;
    },
  };
  return out;
}

/** A clock that moves only when told. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('ProgressLine off a terminal', () => {
  it('prints each step as a plain line, without carriage returns', () => {
    const out = sink(false);
    const p = new ProgressLine(out);
    p.begin('plan');
    p.update({ step: 'instances', region: 'ap-northeast-1', pages: 1, instances: 1000, done: false });
    p.update({ step: 'instances', region: 'ap-northeast-1', pages: 3, instances: 2100, done: true });
    p.update({ step: 'instances', region: 'us-east-1', pages: 0, instances: 0, done: true, error: 'Throttling: slow down' });
    p.update({ step: 'hosts', hosts: 12345 });
    p.update({ step: 'state', records: 1 });
    p.update({ step: 'metrics', hosts: 2 });
    p.print('warn: Mackerel API retry');
    p.end();
    expect(out.text).toBe(
      [
        'plan: ap-northeast-1: 1,000 instances so far (page 1)',
        'plan: ap-northeast-1: 2,100 instances (3 pages), done',
        'plan: us-east-1: FAILED after 0 instances: Throttling: slow down',
        'plan: Mackerel: 12,345 hosts listed',
        'plan: state table: 1 instance record',
        'plan: Mackerel: reading the latest metric of 2 duplicate candidates',
        'warn: Mackerel API retry',
        '',
      ].join('\n'),
    );
  });

  it('--quiet prints log lines only', () => {
    const out = sink(false);
    const p = new ProgressLine(out, { quiet: true });
    p.begin('plan');
    p.update({ step: 'hosts', hosts: 3 });
    p.print('error: boom');
    p.end();
    expect(out.text).toBe('error: boom\n');
  });
});

describe('ProgressLine on a terminal', () => {
  it('redraws one line in place with what was read and the seconds elapsed, and clears it at the end', () => {
    const out = sink(true, 200);
    const clock = manualClock();
    const p = new ProgressLine(out, { clock: clock.now });
    p.begin('plan');
    expect(out.text).toBe('\r\x1b[2Kplan: hosts … · 0s');
    clock.advance(2500);
    p.update({ step: 'instances', region: 'ap-northeast-1', pages: 2, instances: 2000, done: false });
    expect(out.text.split('\r\x1b[2K').at(-1)).toBe('plan: hosts … · ap-northeast-1 2,000 instances (page 2) … · 2s');
    p.update({ step: 'instances', region: 'ap-northeast-1', pages: 3, instances: 2100, done: true });
    p.update({ step: 'hosts', hosts: 5000 });
    p.update({ step: 'state', records: 2100 });
    expect(p.line()).toBe('plan: 5,000 hosts · ap-northeast-1 2,100 instances ✓ · state 2,100 records · 2s');
    p.update({ step: 'instances', region: 'us-east-1', pages: 0, instances: 0, done: true, error: 'x' });
    expect(p.line()).toContain('us-east-1 FAILED');
    // A log line goes above the progress line, which is drawn again under it.
    const before = out.text.length;
    p.print('warn: Mackerel API retry');
    expect(out.text.slice(before)).toBe(`\r\x1b[2Kwarn: Mackerel API retry\n\r\x1b[2K${p.line()}`);
    p.end();
    expect(out.text.endsWith('\r\x1b[2K')).toBe(true);
    expect(out.text).not.toContain('\n\n');
  });

  it('clips the line to the terminal width', () => {
    const out = sink(true, 30);
    const p = new ProgressLine(out, { clock: () => 0 });
    p.begin('plan');
    p.update({ step: 'instances', region: 'ap-northeast-1', pages: 9, instances: 9000, done: false });
    const drawn = out.text.split('\r\x1b[2K').at(-1) ?? '';
    expect(drawn).toHaveLength(29);
    expect(drawn.endsWith('…')).toBe(true);
    p.end();
  });
});

describe('cliLogger', () => {
  it('plain level-prefixed lines with the fields as JSON, below the minimum level dropped', () => {
    const lines: string[] = [];
    const log = cliLogger((l) => lines.push(l), 'warn');
    log.info('planned', { actions: 3 });
    log.warn('Mackerel API retry', { method: 'GET', attempt: 2 }, { status: 503 });
    log.error('failed');
    expect(lines).toEqual([
      'warn: Mackerel API retry {"method":"GET","attempt":2,"status":503}',
      'error: failed',
    ]);
    const verbose: string[] = [];
    cliLogger((l) => verbose.push(l), 'debug').debug('hello');
    expect(verbose).toEqual(['debug: hello']);
  });
});
