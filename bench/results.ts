/**
 * bench/results.json: every section's published figures with the machine and the command that produced them,
 * written only by `npm run bench -- --write`; any other run writes bench/.last-results.json (git-ignored). A run of
 * some sections replaces only those, so `--only` keeps the others; BENCHMARKS.md is rendered from results.json alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Machine } from './machine.js';

const Meta = {
  ranAt: z.string(),
  command: z.string(),
  quick: z.boolean(),
  seed: z.number().int(),
  machine: Machine,
  /** what did not go as the fleet said it should: figures with problems are not to be trusted */
  problems: z.array(z.string()),
};

const Counts = z.record(z.string(), z.number());
const Totals = z.object({ mackerel: z.number(), ec2: z.number(), eventBridge: z.number(), dynamodb: z.number() });

export const SweepResult = z.object({
  ...Meta,
  latencyMs: z.number(),
  fleet: z.object({ instances: z.number(), hosts: z.number(), regions: z.number() }),
  env: z.record(z.string(), z.string()),
  work: z.object({
    retirements: z.number(),
    statusChanges: Counts,
    checkReports: z.number(),
    duplicateCandidates: z.number(),
    silenceCandidates: z.number().optional(),
    findings: z.number(),
  }),
  rows: z.array(z.object({ api: z.string(), rule: z.string(), minimum: z.number(), actual: z.number() })),
  minimum: z.number(),
  actual: z.number(),
  overheadPercent: z.number(),
  dynamodb: Counts,
  wallMs: z.number(),
  /** response bytes the measured sweep read from Mackerel (absent from figures older than issue #9's) */
  mackerelBytes: z.number().optional(),
  prep: z.object({ wallMs: z.number(), totals: Totals, dynamodb: Counts }),
});
export type SweepResult = z.infer<typeof SweepResult>;

export const NaiveResult = z.object({
  ...Meta,
  latencyMs: z.number(),
  concurrency: z.number(),
  fleet: z.object({ instances: z.number(), hosts: z.number() }),
  calls: z.object({ mackerel: Counts, ec2: Counts, total: z.number() }),
  retired: z.number(),
  /** of `retired`: hosts that are not the fleet's (another account's instance, unknown to this EC2) */
  retiredForeign: z.number().optional(),
  wallMs: z.number(),
});
export type NaiveResult = z.infer<typeof NaiveResult>;

export const PlannerSize = z.object({
  size: z.number(),
  hosts: z.number(),
  actions: z.number(),
  runs: z.number(),
  linkFleetMs: z.object({ first: z.number(), median: z.number() }),
  planMs: z.object({ first: z.number(), median: z.number(), max: z.number() }),
  /** garbage-collection pauses inside plan() (PerformanceObserver 'gc' entries) */
  planGcMs: z.object({ first: z.number(), median: z.number() }),
  /** median plan time per host, microseconds */
  perHostUs: z.number(),
  /** resident set once the input was built, before planning */
  rssBeforeMB: z.number(),
  /** peak resident set of the whole child process, input included */
  peakRssMB: z.number(),
  /** VmHWM (Linux) or getrusage maxrss */
  peakRssSource: z.string(),
  /** heap held by one plan's result after a full GC */
  planRetainedMB: z.number(),
});
export const PlannerResult = z.object({ ...Meta, sizes: z.array(PlannerSize) });
export type PlannerResult = z.infer<typeof PlannerResult>;
export type PlannerSize = z.infer<typeof PlannerSize>;

const Spread = z.object({ min: z.number(), max: z.number(), mean: z.number() });

export const EventKind = z.object({
  kind: z.string(),
  events: z.number(),
  /** calls of one invocation by API family; min and max over the events (equal when every event cost the same) */
  calls: z.record(z.string(), z.object({ min: z.number(), max: z.number() })),
  /** every call of one invocation, all APIs together (absent from figures older than issue #9's) */
  callsPerEvent: Spread.optional(),
  /** response bytes one invocation read from Mackerel */
  mackerelBytes: Spread.optional(),
  mackerel: Counts,
  ec2: Counts,
  dynamodb: Counts,
  latencyMs: z.object({ p50: z.number(), p99: z.number(), mean: z.number(), max: z.number() }),
});
/** One organisation size; the goal of issue #9 is that an event costs the same at every size. */
export const EventRun = z.object({
  fleet: z.object({ instances: z.number(), hosts: z.number() }),
  kinds: z.array(EventKind),
  all: z.object({ events: z.number(), p50: z.number(), p99: z.number() }),
  /** mean over every measured event (the fields below are absent from figures older than issue #9's) */
  callsPerEvent: z.number().optional(),
  mackerelBytesPerEvent: z.number().optional(),
  /** events whose handler call failed (threw, or the process died or was killed) */
  failed: z.number().optional(),
  /** peak resident set of the process that handled the events (the warm-up event and module load included) */
  peakRssMB: z.number().optional(),
  peakRssSource: z.string().optional(),
  /** the sweep that taught the store the fleet first, in a process of its own */
  day0: z.object({ ok: z.boolean(), wallMs: z.number(), error: z.string().optional() }).optional(),
});
export const EventResult = z.object({ ...Meta, latencyMs: z.number(), runs: z.array(EventRun) });
export type EventResult = z.infer<typeof EventResult>;
export type EventRun = z.infer<typeof EventRun>;
export type EventKind = z.infer<typeof EventKind>;

/** One sweep in a fresh process: what it read, what it cost, how much memory it took, or how it failed. */
export const SweepStep = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  wallMs: z.number(),
  /** the sweep process's peak resident set; absent when it died before answering */
  peakRssMB: z.number().optional(),
  peakRssSource: z.string().optional(),
  /** response bytes read from Mackerel and from EC2 */
  mackerelBytes: z.number(),
  ec2Bytes: z.number(),
  calls: Totals,
  mackerelRoutes: Counts,
});
export const SweepScaleSize = SweepStep.extend({
  instances: z.number(),
  /** every host in the organisation: the fleet's, its duplicates and the odd ones */
  hosts: z.number(),
  /** the measured sweep did exactly the work of the fleet's drift (after a day-0 sweep that succeeded) */
  workDone: z.boolean(),
  /** the first sweep over a fresh table (every sighting written), before the drift */
  day0: SweepStep,
});
export type SweepScaleSize = z.infer<typeof SweepScaleSize>;
export const SweepScaleResult = z.object({ ...Meta, latencyMs: z.number(), sizes: z.array(SweepScaleSize) });
export type SweepScaleResult = z.infer<typeof SweepScaleResult>;

export const ColdFunction = z.object({
  name: z.string(),
  bytes: z.number(),
  gzipBytes: z.number(),
  /** the packages that weigh most in the bundle, bytes before gzip */
  largest: z.array(z.object({ name: z.string(), bytes: z.number() })),
  runs: z.number(),
  importMs: z.object({ median: z.number(), min: z.number(), max: z.number() }),
  /** from the process's start (performance.timeOrigin) to the handler module loaded */
  readyMs: z.object({ median: z.number() }),
  /** one invocation of the bundle against the sandbox: proof the bundle runs, not only loads */
  firstInvoke: z.object({ ok: z.boolean(), ms: z.number(), detail: z.string() }),
});
export const ColdResult = z.object({
  ...Meta,
  optionsSource: z.string(),
  options: z.record(z.string(), z.unknown()),
  functions: z.array(ColdFunction),
});
export type ColdResult = z.infer<typeof ColdResult>;

export const Results = z.object({
  schema: z.literal(1),
  sweep: SweepResult.optional(),
  naive: NaiveResult.optional(),
  planner: PlannerResult.optional(),
  event: EventResult.optional(),
  'sweep-scale': SweepScaleResult.optional(),
  cold: ColdResult.optional(),
});
export type Results = z.infer<typeof Results>;

/**
 * Where a run starts from and where it writes its figures: with --write the tracked results.json; otherwise the
 * untracked .last-results.json, started from the last such run (or from the published figures before the first).
 */
export function resultsPaths(root: string, write: boolean, exists: (path: string) => boolean): { from: string; to: string } {
  const published = join(root, 'bench', 'results.json');
  const last = join(root, 'bench', '.last-results.json');
  if (write) return { from: published, to: published };
  return { from: exists(last) ? last : published, to: last };
}

export class ResultsFileError extends Error {
  override name = 'ResultsFileError';
}

const where = (issue: z.core.$ZodIssue | undefined) => issue?.path.map(String).join('.') || '(root)';

/**
 * Reads results.json. Strict by default (the doc must not be rendered from figures of another shape); with
 * `dropInvalid`, a section of an older shape is dropped and reported, so that a run of other sections goes on.
 */
export function loadResults(path: string, opts: { dropInvalid?: (section: string, why: string) => void } = {}): Results {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schema: 1 };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ResultsFileError(`${path} is not JSON: ${(e as Error).message}`);
  }
  if (opts.dropInvalid && typeof json === 'object' && json !== null) {
    const record = { ...(json as Record<string, unknown>) };
    for (const [section, schema] of Object.entries(Results.shape)) {
      if (section === 'schema' || record[section] === undefined) continue;
      const one = schema.safeParse(record[section]);
      if (!one.success) {
        opts.dropInvalid(section, `${where(one.error.issues[0])}: ${one.error.issues[0]?.message ?? 'invalid'}`);
        delete record[section];
      }
    }
    json = record;
  }
  const parsed = Results.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ResultsFileError(`${path}: ${where(issue)}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function saveResults(path: string, results: Results): void {
  writeFileSync(path, `${JSON.stringify(Results.parse(results), null, 2)}\n`);
}
