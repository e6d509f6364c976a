/**
 * A counting proxy in front of the sandbox's dynalite: every DynamoDB request the code under test sends is
 * counted by operation (the `X-Amz-Target` header) on the wire, SDK retries and scan pages included, without
 * touching the state store. The handlers reach it through AWS_ENDPOINT_URL_DYNAMODB like any emulator.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import { closeServer, listenLoopback } from '../sandbox/http.js';

export interface DynamoCounter {
  url: string;
  /** requests by operation since start, e.g. { PutItem: 12, Query: 1 } */
  readonly byOperation: Record<string, number>;
  total(): number;
  stop(): Promise<void>;
}

export async function startDynamoProxy(upstream: string): Promise<DynamoCounter> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const byOperation: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop() ?? 'unknown';
    byOperation[op] = (byOperation[op] ?? 0) + 1;
    const up = request(
      {
        agent,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'ProxyError', message: String(err) }));
    });
    req.pipe(up);
  });
  const url = await listenLoopback(server);
  return {
    url,
    byOperation,
    total: () => Object.values(byOperation).reduce((a, b) => a + b, 0),
    async stop() {
      await closeServer(server);
      agent.destroy();
    },
  };
}
