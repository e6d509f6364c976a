/**
 * Runs the command line as a real child process (`node --import tsx cli/main.ts …`) against a sandbox, the
 * way a person would run it: its own process, the sandbox's environment, real HTTP. `onTerminal` runs it
 * under a pseudo-terminal (util-linux or BSD `script`), for what only a terminal gets: the confirmation.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A CLI run as a failing assertion prints it: exit code, stdout, stderr. */
export const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

export interface CliRun {
  env: Record<string, string>;
  /** written to stdin, then stdin is closed; without it stdin is /dev/null-like (closed at once) */
  input?: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Answers a question once its text has appeared on stdout (after `before`, e.g. a change to the fleet). */
export interface Answer {
  when: RegExp;
  text: string;
  before?: () => void | Promise<void>;
}

function collect(child: ReturnType<typeof spawn>, input: string | Answer | undefined): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  let answered = false;
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (typeof input === 'object' && !answered && input.when.test(stdout)) {
      answered = true;
      void Promise.resolve(input.before?.()).then(() => child.stdin?.end(input.text));
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (typeof input !== 'object') child.stdin?.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...env,
    // Keep stderr to what the command line itself says.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_NO_WARNINGS: '1',
  };
}

/** stdin, stdout and stderr are pipes: no terminal anywhere. */
export function runCli(args: readonly string[], run: CliRun): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: ROOT,
    env: childEnv(run.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, run.input);
}

/** How to start a command under a pseudo-terminal with this machine's `script`. */
function scriptArgs(command: string): string[] {
  if (process.platform === 'linux') return ['-qec', command, '/dev/null'];
  return ['-q', '/dev/null', 'sh', '-c', command];
}

/** `script` is util-linux's on Linux and BSD's on macOS; either gives the child a real terminal. */
export function terminalAvailable(): boolean {
  return spawnSync('script', scriptArgs('true'), { stdio: 'ignore' }).status === 0;
}

/**
 * The command under a pseudo-terminal: stdin, stdout and stderr are the terminal, so the prompt is asked
 * and the progress line is drawn in place. `answer` is typed into the terminal. stdout and stderr arrive
 * merged, with the terminal's \r\n and the typed answer's echo; the exit code is the command's own.
 */
export function runCliOnTerminal(
  args: readonly string[],
  run: { env: Record<string, string>; answer?: Answer; columns?: number },
): Promise<CliResult> {
  const words = [process.execPath, '--import', 'tsx', 'cli/main.ts', ...args].map(quote).join(' ');
  const command = `stty cols ${run.columns ?? 120} rows 50; exec ${words}`;
  const child = spawn('script', scriptArgs(command), {
    cwd: ROOT,
    env: childEnv(run.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, run.answer);
}
