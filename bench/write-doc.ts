/** `npm run bench:doc`: regenerate the figures section of BENCHMARKS.md from bench/results.json, no measuring. */
import { join } from 'node:path';
import { SECTIONS } from './args.js';
import { writeFigures } from './report.js';
import { loadResults } from './results.js';

const ROOT = new URL('..', import.meta.url).pathname;
const doc = join(ROOT, 'BENCHMARKS.md');
writeFigures(doc, loadResults(join(ROOT, 'bench', 'results.json')), SECTIONS);
console.log(`figures rewritten: ${doc}`);
