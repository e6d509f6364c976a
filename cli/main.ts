/**
 * `npm run reconciler -- plan|apply [options]`: the reconciler's planner from a laptop, against real AWS
 * credentials or the sandbox. Usage: cli/args.ts, or `--help`.
 */
import { cli } from './app.js';
import { processIo } from './io.js';
import { suppressSdkNodeNotice } from './notice.js';

suppressSdkNodeNotice();
process.exitCode = await cli(process.argv.slice(2), processIo());
