/** The streams the command line talks through: the process's own, or test doubles. */

export interface Output {
  write(chunk: string): unknown;
  /** a terminal: progress is redrawn in place and tables are clipped to `columns` */
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
}

export const processIo = (): Io => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

/** The width to clip tables to: a terminal's, else none (a file or pipe gets every character). */
export const widthOf = (out: Output): number | undefined =>
  out.isTTY && out.columns && out.columns > 0 ? out.columns : undefined;
