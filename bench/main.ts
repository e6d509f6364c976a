/**
 * `npm run bench`: the benchmarks of issues #5, #9 and #16, side by side, on the local sandbox with a fixed latency
 * on every fake API call, so that call counts show in the time. Prints a table per section and writes the figures to
 * bench/.last-results.json (ignored by git); with --write they go to the tracked bench/results.json instead and the
 * figures section of BENCHMARKS.md is regenerated from it. Figures, not tests: nothing here asserts a time; a section
 * whose work differs from what its fleet asks for, or whose run failed, reports a PROBLEM (exit 1).
 *
 *   npm run bench                            everything (long: the 100,000-host sections take many minutes)
 *   npm run bench -- --only planner,cold     some sections; the others keep their figures
 *   npm run bench -- --quick                 small fleets, few repetitions: a smoke run
 *   npm run bench -- --write                 … recorded in bench/results.json, and BENCHMARKS.md refreshed
 */
import './quiet.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type Section, SECTIONS, USAGE, UsageError } from './args.js';
import { machine } from './machine.js';
import { goalsTable, sectionTables, writeFigures } from './report.js';
import { loadResults, type Results, resultsPaths, saveResults } from './results.js';
import { coldBench } from './sections/cold.js';
import { eventBench } from './sections/event.js';
import { naiveBench } from './sections/naive.js';
import { plannerBench } from './sections/planner.js';
import { sweepBench } from './sections/sweep.js';
import { sweepScaleBench } from './sections/sweep-scale.js';
import { renderText } from './tables.js';

const ROOT = new URL('..', import.meta.url).pathname;
const DOC_PATH = join(ROOT, 'BENCHMARKS.md');

/** Fleet sizes and repetitions; --quick is a smoke run whose figures are not for publishing. */
function sizesFor(quick: boolean) {
  return quick
    ? {
        sweepSize: 1000,
        planner: [
          { size: 1000, runs: 5 },
          { size: 10_000, runs: 3 },
        ],
        event: [
          { size: 200, events: 20 },
          { size: 2000, events: 10 },
        ],
        sweepScale: [1000, 3000],
        coldRuns: 3,
      }
    : {
        sweepSize: 10_000,
        planner: [
          { size: 1000, runs: 50 },
          { size: 10_000, runs: 20 },
          { size: 100_000, runs: 7 },
        ],
        event: [
          { size: 1000, events: 200 },
          { size: 10_000, events: 60 },
          { size: 100_000, events: 20 },
        ],
        sweepScale: [10_000, 50_000, 100_000],
        coldRuns: 10,
      };
}

async function runSection(section: Section, args: ReturnType<typeof parseArgs>, results: Results): Promise<void> {
  const p = sizesFor(args.quick);
  const meta = {
    ranAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    quick: args.quick,
    seed: args.seed,
    machine: machine(),
  };
  const common = { seed: args.seed, latencyMs: args.latencyMs };
  const onProgress = (line: string) => console.log(`  ${line}`);
  switch (section) {
    case 'sweep': {
      const { data } = await sweepBench({ ...common, size: p.sweepSize });
      results.sweep = { ...meta, ...data };
      break;
    }
    case 'naive':
      results.naive = { ...meta, ...(await naiveBench({ ...common, size: p.sweepSize })) };
      break;
    case 'planner': {
      const sizes = await plannerBench({
        seed: args.seed,
        sizes: p.planner,
        onSize: (s) => console.log(`  planner: ${s.size} instances done (median ${s.planMs.median.toFixed(1)} ms)`),
      });
      results.planner = { ...meta, problems: [], sizes };
      break;
    }
    case 'event': {
      const runs = [];
      const problems = [];
      for (const size of p.event) {
        const { problems: found, ...run } = await eventBench({ ...common, ...size, onProgress });
        runs.push(run);
        problems.push(...found);
      }
      results.event = { ...meta, problems, latencyMs: args.latencyMs, runs };
      break;
    }
    case 'sweep-scale': {
      const { sizes, problems } = await sweepScaleBench({ ...common, sizes: p.sweepScale, onProgress });
      results['sweep-scale'] = { ...meta, problems, latencyMs: args.latencyMs, sizes };
      break;
    }
    case 'cold':
      results.cold = { ...meta, ...(await coldBench({ runs: p.coldRuns, seed: args.seed })) };
      break;
  }
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const paths = resultsPaths(ROOT, args.write, existsSync);
  const results = loadResults(paths.from, {
    dropInvalid: (section, why) =>
      console.warn(`${paths.from}: the saved ${section} figures have an older shape (${why}); dropped`),
  });
  const m = machine();
  console.log(
    `mackerel-reconciler benchmarks — seed ${args.seed}, ${args.latencyMs} ms per fake API call${args.quick ? ', QUICK' : ''}\n` +
      `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, load ${m.loadAverage.join(' / ')}`,
  );
  let problems = 0;
  for (const section of args.sections) {
    console.log(`\n▶ ${section} …`);
    const t0 = performance.now();
    await runSection(section, args, results);
    saveResults(paths.to, results);
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    for (const t of sectionTables(results, section)) console.log(`${renderText(t)}\n`);
    problems += (results[section]?.problems ?? []).length;
  }
  console.log(`${renderText(goalsTable(results))}\n`);
  console.log(`results: ${paths.to}${args.write ? '' : ' (not tracked; --write records them in bench/results.json)'}`);
  if (args.write) {
    writeFigures(DOC_PATH, results, SECTIONS);
    console.log(`figures rewritten: ${DOC_PATH}`);
  }
  if (problems > 0) console.error(`\n${problems} PROBLEM(S): some figures do not measure the work they claim to`);
  return problems > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
