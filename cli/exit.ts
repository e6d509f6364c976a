/**
 * Exit codes of the command line. 2 is a usage error, as is common for command lines, so "changes pending"
 * (`plan --detailed-exitcode`, terraform's idea) takes 3 rather than terraform's 2: a script must never read
 * a mistyped flag as "there is something to apply".
 */
export const EXIT = {
  /** done; for plan: nothing to do, or changes pending without --detailed-exitcode */
  ok: 0,
  /** an error, a region that could not be read, an action that failed, or apply refused or cancelled */
  failed: 1,
  /** bad command line: unknown command or flag, bad flag value */
  usage: 2,
  /** plan --detailed-exitcode: the plan has actions */
  changes: 3,
  /** plan --detailed-exitcode: the plan is incomplete (a region could not be read): neither "no changes" nor 3 */
  incomplete: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
