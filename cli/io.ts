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
  stdout: closable(process.stdout),
  // stderr stays the stream itself: readline asks the question on it.
  stderr: process.stderr,
  env: process.env,
});

/**
 * A stream whose reader may go away (`apply --yes | head`): EPIPE ends the output, not the run, so an apply
 * already under way still finishes (nothing half-done) and no stack trace is printed.
 */
function closable(stream: NodeJS.WriteStream): Output {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    closed = true;
  });
  return {
    write: (chunk: string) => (closed ? true : stream.write(chunk)),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}

/** The width to clip tables to: a terminal's, else none (a file or pipe gets every character). */
export const widthOf = (out: Output): number | undefined =>
  out.isTTY && out.columns && out.columns > 0 ? out.columns : undefined;
