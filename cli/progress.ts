/**
 * The progress line on stderr while a large fleet is read. On a terminal it is one line redrawn in place
 * (`\r`), with the seconds elapsed; anywhere else (a pipe, a file, the tests) each step is a plain line, since
 * carriage returns would only garble a log.
 */
import type { Progress } from '../shared/reconcile/progress.js';
import type { Output } from './io.js';

const n = (x: number) => x.toLocaleString('en-US');
const plural = (count: number, word: string) => `${n(count)} ${word}${count === 1 ? '' : 's'}`;
const CLEAR = '\r\x1b[2K';

interface RegionSeen {
  pages: number;
  instances: number;
  done: boolean;
  error?: string;
}

export interface ProgressOptions {
  /** print nothing but log lines */
  quiet?: boolean;
  clock?: () => number;
}

export class ProgressLine {
  readonly #out: Output;
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #clock: () => number;
  #label = '';
  #started = 0;
  #hosts: number | undefined;
  #records: number | undefined;
  #metrics: number | undefined;
  #regions = new Map<string, RegionSeen>();
  #drawn = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: Output, opts: ProgressOptions = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#quiet = opts.quiet ?? false;
    this.#clock = opts.clock ?? Date.now;
  }

  /** A new reading (the plan, then the apply): forgets the previous one. */
  begin(label: string): void {
    this.end();
    this.#label = label;
    this.#started = this.#clock();
    this.#hosts = this.#records = this.#metrics = undefined;
    this.#regions = new Map();
    if (this.#quiet || !this.#tty) return;
    this.#draw();
    // Keeps the elapsed seconds moving while one long call (a 10,000-host list) is under way.
    this.#timer = setInterval(() => this.#draw(), 1000);
    this.#timer.unref();
  }

  /** The listener to give the runtime. */
  readonly update = (p: Progress): void => {
    switch (p.step) {
      case 'hosts':
        this.#hosts = p.hosts;
        break;
      case 'state':
        this.#records = p.records;
        break;
      case 'metrics':
        this.#metrics = p.hosts;
        break;
      case 'instances':
        this.#regions.set(p.region, { pages: p.pages, instances: p.instances, done: p.done, error: p.error });
        break;
    }
    if (this.#quiet) return;
    if (this.#tty) this.#draw();
    else this.#out.write(`${this.#label}: ${describe(p)}\n`);
  };

  /** A line of its own (a log line), printed above the progress line. */
  print(line: string): void {
    if (this.#drawn) this.#out.write(CLEAR);
    this.#out.write(`${line}\n`);
    this.#drawn = false;
    if (this.#timer) this.#draw();
  }

  /** The reading is over: the line is cleared (a terminal) and the timer stopped. */
  end(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#out.write(CLEAR);
    this.#drawn = false;
  }

  /** The one-line picture of everything read so far. */
  line(): string {
    const parts: string[] = [];
    parts.push(this.#hosts === undefined ? 'hosts …' : `${plural(this.#hosts, 'host')}`);
    for (const [region, r] of this.#regions) {
      if (r.error) parts.push(`${region} FAILED`);
      else parts.push(`${region} ${plural(r.instances, 'instance')}${r.done ? ' ✓' : ` (page ${r.pages}) …`}`);
    }
    if (this.#records !== undefined) parts.push(`state ${plural(this.#records, 'record')}`);
    if (this.#metrics !== undefined) parts.push(`metrics of ${plural(this.#metrics, 'host')}`);
    const seconds = Math.floor((this.#clock() - this.#started) / 1000);
    return `${this.#label}: ${parts.join(' · ')} · ${seconds}s`;
  }

  #draw(): void {
    const width = this.#out.columns && this.#out.columns > 1 ? this.#out.columns - 1 : 79;
    const text = this.line();
    this.#out.write(`${CLEAR}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.#drawn = true;
  }
}

/** One step as a plain line. */
export function describe(p: Progress): string {
  switch (p.step) {
    case 'hosts':
      return `Mackerel: ${plural(p.hosts, 'host')} listed`;
    case 'state':
      return `state table: ${plural(p.records, 'instance record')}`;
    case 'metrics':
      return `Mackerel: reading the latest metric of ${plural(p.hosts, 'duplicate candidate')}`;
    case 'instances':
      if (p.error) return `${p.region}: FAILED after ${plural(p.instances, 'instance')}: ${p.error}`;
      if (p.done) return `${p.region}: ${plural(p.instances, 'instance')} (${plural(p.pages, 'page')}), done`;
      return `${p.region}: ${plural(p.instances, 'instance')} so far (page ${p.pages})`;
  }
}
