// Plumbing shared by the fake servers: loopback listen on a random port, body reading, clean shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Listens on 127.0.0.1 with a random port (never `localhost`: it may resolve to ::1) and returns the base URL. */
export function listenLoopback(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('server has no TCP address'));
        return;
      }
      resolve(`http://127.0.0.1:${address.port}`);
    });
  });
}

/** Closes the server, dropping keep-alive sockets the SDK clients hold open so that close() returns at once. */
export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes one chunk and waits, if the socket's buffer is full, until it drains (backpressure) or the connection
 * closes. Resolves false when the connection is gone.
 */
export async function writeChunk(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

/** Resolves when the response's connection closes (the client went away, or the server is stopping). */
export function closed(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => res.once('close', () => resolve()));
}

/** Cuts a sequence of buffers into buffers of exactly `size` bytes (the last may be shorter). */
export function* rechunk(pieces: Iterable<Buffer>, size: number): Generator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for (const piece of pieces) {
    held.push(piece);
    heldBytes += piece.length;
    if (heldBytes < size) continue;
    const all = Buffer.concat(held, heldBytes);
    let at = 0;
    for (; all.length - at >= size; at += size) yield all.subarray(at, at + size);
    held = at < all.length ? [all.subarray(at)] : [];
    heldBytes = all.length - at;
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** A fault budget: fires for the next `times` calls, or with `probability`, or both (whichever limits first). */
export class FaultBudget {
  private remaining: number;
  private readonly probability: number | undefined;

  constructor(
    private readonly rng: () => number,
    opts: { times?: number; probability?: number },
  ) {
    this.remaining = opts.times ?? Number.POSITIVE_INFINITY;
    this.probability = opts.probability;
  }

  get exhausted(): boolean {
    return this.remaining <= 0;
  }

  /** Decides whether this call fails, spending one unit of the budget when it does. */
  fire(): boolean {
    if (this.remaining <= 0) return false;
    if (this.probability !== undefined && !(this.rng() < this.probability)) return false;
    this.remaining--;
    return true;
  }
}

/**
 * The lifecycle every fake shares: `start()` listens on loopback (idempotent) and `stop()` closes it. A bug in a
 * fake's `handle` answers 500 with `bugBody`, in that API's own error shape, so an SDK client reports it.
 */
export abstract class FakeServer {
  url = '';
  private server: Server | undefined;

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  protected abstract bugBody(message: string): string;

  async start(): Promise<string> {
    if (this.server) return this.url;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(this.bugBody(`sandbox bug: ${String(err)}`));
      });
    });
    this.url = await listenLoopback(this.server);
    return this.url;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = undefined;
  }
}
