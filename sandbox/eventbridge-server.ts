// A PutEvents recorder speaking the JSON 1.1 protocol, reached by the real `@aws-sdk/client-eventbridge` through
// `AWS_ENDPOINT_URL_EVENTBRIDGE`. Like EventBridge, it fails entries one by one (FailedEntryCount) rather than the
// whole call, and rejects more than 10 entries with a ValidationException.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, FaultBudget, readBody, sleep } from './http.js';
import { randomUuid } from './random.js';

export interface RecordedEvent {
  source: string;
  detailType: string;
  /** parsed JSON */
  detail: unknown;
  eventBusName: string;
  resources: string[];
  at: number;
}

export const PUT_EVENTS_LIMIT = 10;

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FakeEventBridge extends FakeServer {
  latencyMs: number;
  readonly events: RecordedEvent[] = [];
  readonly calls: { entries: number; status: number; at: number }[] = [];

  private readonly rng: () => number;
  private failBudget: FaultBudget | undefined;

  constructor(opts: { latencyMs?: number; rng?: () => number } = {}) {
    super();
    this.latencyMs = opts.latencyMs ?? 0;
    this.rng = opts.rng ?? Math.random;
  }

  failEntries(opts: { times?: number; probability?: number } | null): void {
    this.failBudget = opts === null ? undefined : new FaultBudget(this.rng, opts);
  }

  protected bugBody(message: string): string {
    return JSON.stringify({ __type: 'InternalException', message });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const raw = await readBody(req);
    let status = 200;
    let answer: unknown;
    let entryCount = 0;
    const fail = (code: string, message: string) => {
      status = 400;
      answer = { __type: code, message };
    };

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      fail('UnknownOperationException', `Unknown operation ${String(target)}`);
    } else if (!isRecord(body) || !Array.isArray(body.Entries)) {
      fail('SerializationException', 'Request body must be a JSON object with an Entries array');
    } else {
      const entries: unknown[] = body.Entries;
      entryCount = entries.length;
      if (entries.length === 0 || entries.length > PUT_EVENTS_LIMIT) {
        fail(
          'ValidationException',
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: ` +
            `Member must have length between 1 and ${PUT_EVENTS_LIMIT}`,
        );
      } else {
        const results = entries.map((e) => this.putEntry(e, at));
        answer = {
          FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
          Entries: results,
        };
      }
    }

    await sleep(this.latencyMs);
    this.calls.push({ entries: entryCount, status, at });
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUuid(this.rng),
    };
    if (status !== 200) headers['x-amzn-errortype'] = (answer as { __type: string }).__type;
    res.writeHead(status, headers);
    res.end(JSON.stringify(answer));
  }

  private putEntry(e: unknown, at: number): EntryResult {
    // Like EventBridge, a malformed entry fails alone with InvalidArgument; the rest of the batch goes through.
    if (!isRecord(e)) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Entry must be an object.' };
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof e[field] !== 'string' || e[field] === '') {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid.` };
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(e.Detail as string);
    } catch {
      detail = undefined;
    }
    if (!isRecord(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (this.failBudget?.fire()) {
      return { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service error.' };
    }
    const resources = Array.isArray(e.Resources) ? e.Resources.filter((r) => typeof r === 'string') : [];
    this.events.push({
      source: e.Source as string,
      detailType: e.DetailType as string,
      detail,
      eventBusName: typeof e.EventBusName === 'string' && e.EventBusName !== '' ? e.EventBusName : 'default',
      resources,
      at,
    });
    return { EventId: randomUuid(this.rng) };
  }
}
