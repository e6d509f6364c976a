/**
 * The engine's log lines on the command line: plain text on stderr (never stdout, which `--json` keeps for
 * the report), warnings and errors by default, everything with --verbose.
 */
import type { RunLogger } from '../shared/runtime.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

export function cliLogger(print: (line: string) => void, minimum: LogLevel): RunLogger {
  const at = (level: LogLevel) => (message: string, ...extra: Record<string, unknown>[]) => {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(minimum)) return;
    const fields = Object.assign({}, ...extra) as Record<string, unknown>;
    print(`${level}: ${message}${Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
