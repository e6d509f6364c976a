/** The grammar of the command line: one row per rule; a bad command line names the flag or command. */
import { describe, expect, it } from 'vitest';
import { type Options, parseCommandLine, UsageError } from '../../cli/args.js';

const defaults: Omit<Options, 'command'> = {
  instanceIds: [],
  json: false,
  yes: false,
  detailedExitcode: false,
  quiet: false,
  verbose: false,
  maxAgeMs: 3_600_000,
};

describe('parseCommandLine', () => {
  it.each<[string[], Partial<Options>]>([
    [['plan'], { command: 'plan' }],
    [['apply', '--yes'], { command: 'apply', yes: true }],
    [['apply', '-y', '--json'], { command: 'apply', yes: true, json: true }],
    [['--json', 'plan'], { command: 'plan', json: true }],
    [
      ['plan', '--regions', 'ap-northeast-1,us-east-1, ap-northeast-1'],
      { command: 'plan', regions: ['ap-northeast-1', 'us-east-1'] },
    ],
    [['plan', '--regions=eu-west-1'], { command: 'plan', regions: ['eu-west-1'] }],
    [['plan', '--table', ' state '], { command: 'plan', table: 'state' }],
    [
      ['plan', '--instance', 'i-0123456789abcdef0', '--instance', 'i-01234567,i-0123456789abcdef0'],
      { command: 'plan', instanceIds: ['i-0123456789abcdef0', 'i-01234567'] },
    ],
    [['plan', '--detailed-exitcode', '-q', '-v'], { command: 'plan', detailedExitcode: true, quiet: true, verbose: true }],
    [['plan', '--out', 'plan.json'], { command: 'plan', out: 'plan.json' }],
    [['apply', 'plan.json'], { command: 'apply', planFile: 'plan.json' }],
    [['apply', 'plan.json', '--max-age', '2h30m'], { command: 'apply', planFile: 'plan.json', maxAgeMs: 9_000_000 }],
    [['apply', '--max-retire', '80', '--max-retire-percent', '100'], { command: 'apply', maxRetire: 80, maxRetirePercent: 100 }],
  ])('%j', (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual({ help: false, options: { ...defaults, ...expected } });
  });

  it.each([[['--help']], [['-h']], [['plan', '--help']], [['apply', '-y', '-h']]])('%j asks for help', (argv) => {
    expect(parseCommandLine(argv)).toEqual({ help: true });
  });

  it.each<[string[], string]>([
    [[], 'missing command: plan or apply'],
    [['destroy'], 'unknown command "destroy": use plan or apply'],
    [['plan', 'now'], 'unexpected argument "now" after plan'],
    [['plan', '--frobnicate'], 'unknown option --frobnicate'],
    [['plan', '-x'], 'unknown option -x'],
    [['plan', '--regions'], '--regions needs a value'],
    [['plan', '--help', '--frobnicate'], 'unknown option --frobnicate'],
    [['plan', '--json=yes'], '--json does not take a value'],
    [['plan', '--regions', ','], '--regions needs at least one region'],
    [['plan', '--regions', 'tokyo'], '--regions: "tokyo" is not a region name (e.g. ap-northeast-1)'],
    [['plan', '--table', ' '], '--table needs a table name'],
    [['plan', '--instance', 'web-1'], '--instance: "web-1" is not an instance id (e.g. i-0123456789abcdef0)'],
    [['plan', '--instance', 'i-XYZ'], '--instance: "i-XYZ" is not an instance id (e.g. i-0123456789abcdef0)'],
    [['plan', '--yes'], '--yes only applies to apply'],
    [['apply', '--detailed-exitcode'], '--detailed-exitcode only applies to plan'],
    [['plan', '--regions', '-q'], '--regions needs a value (the next word starts with "-", so it looks like a flag)'],
    [['apply', '--out', 'p.json'], '--out only applies to plan'],
    [['apply', '--max-age', '1h'], '--max-age only applies to apply <plan file>'],
    [['apply', 'p.json', '--max-age', 'soon'], '--max-age: "soon" is not a duration (e.g. 30m, 1h, 90s)'],
    [['apply', 'p.json', '--instance', 'i-0123456789abcdef0'], '--instance cannot be given with a plan file: the plan says which instances'],
    [['apply', 'p.json', 'q.json'], 'unexpected argument "q.json" after apply'],
    [['plan', '--max-retire', '-1'], '--max-retire needs a value (the next word starts with "-", so it looks like a flag)'],
    [['plan', '--max-retire', 'many'], '--max-retire: "many" is not a whole number from 0 to 1000000'],
    [['plan', '--max-retire-percent', '101'], '--max-retire-percent: "101" is not a whole number from 0 to 100'],
    [['x'.repeat(100_000)], `unknown command "${'x'.repeat(40)}… (99,960 more characters)": use plan or apply`],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(message));
  });
});
