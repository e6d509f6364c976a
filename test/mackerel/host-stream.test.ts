import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HostListDeadlineError,
  HostListEnvelopeError,
  HostListFirstByteTimeoutError,
  HostListStalledError,
  HostListTruncatedError,
} from '../../shared/mackerel/errors.js';
import { HostListScanner, readHostStream, scanHostList } from '../../shared/mackerel/host-stream.js';

const SEED = Number(process.env.TEST_SEED ?? 20250301);
console.log(`host-stream tests: seed ${SEED}`);

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The body cut into chunks at the given byte offsets. */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const bounds = [0, ...at, bytes.length];
  return bounds.slice(1).map((end, i) => bytes.slice(bounds[i], end));
}

function every(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

async function scan(chunks: Uint8Array[]) {
  const hosts: unknown[] = [];
  const indexes: number[] = [];
  const result = await scanHostList(chunks, (raw, i) => {
    hosts.push(raw);
    indexes.push(i);
  });
  return { hosts, indexes, ...result };
}

async function failure(body: string | Uint8Array[]): Promise<Error> {
  const chunks = typeof body === 'string' ? [utf8(body)] : body;
  const err = await scan(chunks).catch((e: unknown) => e);
  if (!(err instanceof Error)) throw new Error(`expected a failure for ${String(body)}`);
  return err;
}

// Every trap at once: brackets and escaped quotes in strings, a trailing backslash, nesting, non-ASCII of 2, 3
// and 4 bytes, whitespace everywhere, scalars of every kind, and other keys before and after hosts.
const TRICKY = ` \r\n{ "before" : {"hosts": ["not", "these"], "x": "]}\\"{["} ,
  "n": -1.5e3, "t": true, "z": null, "s": "plain",
  "hosts" :
  [ {"id": "a", "name": "}{][", "memo": "say \\"hi\\" \\\\", "roles": {"web": ["app", "api"]}},
    {"id": "b", "meta": {"note": "日本語 ünï 🐟", "deep": [[[{"a": [1, {"b": "]"}]}]]], "empty": {}, "list": []}},
    "a string host", 42, true, null, [], {} , {"id":"\\u0063\\n"}
  ] ,
  "after": [1, 2, {"hosts": 3}], "tail": "\\\\" }
`;

describe('HostListScanner: what it hands on', () => {
  it('hands on exactly the elements of hosts, in order, whatever the strings and nesting hold', async () => {
    const expected = (JSON.parse(TRICKY) as { hosts: unknown[] }).hosts;
    const r = await scan([utf8(TRICKY)]);
    expect(r.hosts).toEqual(expected);
    expect(r.indexes).toEqual(expected.map((_, i) => i));
    expect(r.count).toBe(expected.length);
    expect(r.bytes).toBe(utf8(TRICKY).length);
  });

  it('gives the same elements however the body is cut: at every single offset, and byte by byte', async () => {
    const bytes = utf8(TRICKY);
    const expected = (JSON.parse(TRICKY) as { hosts: unknown[] }).hosts;
    for (let at = 1; at < bytes.length; at++) {
      expect((await scan(cut(bytes, [at]))).hosts, `cut at byte ${at}`).toEqual(expected);
    }
    expect((await scan(every(bytes, 1))).hosts).toEqual(expected);
  });

  it('keeps non-ASCII intact when a chunk boundary falls inside a UTF-8 sequence (every pair of offsets)', async () => {
    const body = '{"hosts":[{"n":"é日🐟"},"🐟🐟",{"k":"ü"}]}';
    const bytes = utf8(body);
    const expected = (JSON.parse(body) as { hosts: unknown[] }).hosts;
    for (let a = 1; a < bytes.length; a++) {
      for (let b = a + 1; b < bytes.length; b++) {
        expect((await scan(cut(bytes, [a, b]))).hosts, `cut at ${a} and ${b}`).toEqual(expected);
      }
    }
  });

  it('tells an escaped quote from a closing one across chunk boundaries, for runs of 1 to 4 backslashes', async () => {
    const body = '{"hosts":["a\\"b","c\\\\",["d\\\\\\"]"],{"e\\\\\\\\":"]"}]}';
    const bytes = utf8(body);
    const expected = (JSON.parse(body) as { hosts: unknown[] }).hosts;
    expect(expected).toEqual(['a"b', 'c\\', ['d\\"]'], { 'e\\\\': ']' }]);
    for (let a = 1; a < bytes.length; a++) {
      for (let b = a + 1; b < bytes.length; b++) {
        expect((await scan(cut(bytes, [a, b]))).hosts, `cut at ${a} and ${b}`).toEqual(expected);
      }
    }
  });

  it('reads an empty list, an empty body of whitespace around it, and a UTF-8 byte order mark', async () => {
    expect(await scan([utf8('{"hosts":[]}')])).toMatchObject({ hosts: [], count: 0 });
    expect(await scan([utf8('\n  { "hosts" : [ \n ] }  \n')])).toMatchObject({ hosts: [], count: 0 });
    expect((await scan([utf8('\ufeff{"hosts":[1]}')])).hosts).toEqual([1]);
  });

  it('recognises the hosts key however it is escaped, and ignores hosts nested in other keys', async () => {
    expect((await scan([utf8('{"x":{"hosts":[9]},"ho\\u0073ts":[1]}')])).hosts).toEqual([1]);
    const long = `{"${'k'.repeat(500)}":[9],"hosts":[2]}`;
    expect((await scan(every(utf8(long), 7))).hosts).toEqual([2]);
  });

  it('agrees with JSON.parse on generated bodies cut at random places', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.dictionary(fc.string().filter((k) => k !== 'hosts'), fc.jsonValue(), { maxKeys: 3 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (hosts, others, cuts) => {
          const body = JSON.stringify({ ...others, hosts, ...others }, null, cuts.length % 2 ? 2 : 0);
          const bytes = utf8(body);
          const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, bytes.length - 1))))].sort((x, y) => x - y);
          const r = await scan(cut(bytes, at.filter((x) => x < bytes.length)));
          expect(r.hosts).toEqual(JSON.parse(JSON.stringify(hosts)));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps nothing: a failure in the callback stops the scan there', async () => {
    const seen: number[] = [];
    const scanner = new HostListScanner((_raw, i) => {
      seen.push(i);
      if (i === 1) throw new Error('refused');
    });
    expect(() => scanner.push(utf8('{"hosts":[1,2,3]}'))).toThrow('refused');
    expect(seen).toEqual([0, 1]);
  });
});

describe('HostListScanner: a wrong envelope is named', () => {
  it.each([
    ['<html>proxy error</html>', 'not-json', '', "body is not JSON: unexpected '<' at byte 0"],
    ['', 'not-json', '', 'body is empty'],
    ['   \n', 'not-json', '', 'body is empty'],
    ['[{"id":"a"}]', 'not-object', '', 'body is an array, not an object'],
    ['"hosts"', 'not-object', '', 'body is a string, not an object'],
    ['42', 'not-object', '', 'body is a number, not an object'],
    ['{}', 'hosts-missing', 'hosts', 'is missing'],
    ['{"host":[], "x": {"hosts": []}}', 'hosts-missing', 'hosts', 'is missing'],
    ['{"hosts":{"a":{}}}', 'hosts-not-array', 'hosts', 'is an object, not an array'],
    ['{"hosts":"none"}', 'hosts-not-array', 'hosts', 'is a string, not an array'],
    ['{"hosts":null}', 'hosts-not-array', 'hosts', 'is null, not an array'],
    ['{"hosts":3}', 'hosts-not-array', 'hosts', 'is a number, not an array'],
    ['{"hosts":[],"hosts":[]}', 'hosts-repeated', 'hosts', 'appears twice in the body'],
    ['{"hosts":[{"id":"a"},{"id":}]}', 'not-json', 'hosts.1', 'is not valid JSON'],
    ['{"hosts":[1,tru]}', 'not-json', 'hosts.1', 'is not valid JSON'],
    ['{"hosts":[1,]}', 'not-json', 'hosts', "is not JSON: unexpected ']' at byte 12"],
    ['{"hosts":[] "x":1}', 'not-json', '', "body is not JSON: unexpected '\"' at byte 12"],
    ['{"x":nul,"hosts":[]}', 'not-json', '', 'body is not JSON: a value before byte 8 is not JSON'],
    ['{"hosts":[]}]', 'not-json', '', "body is not JSON: unexpected ']' after the top-level object (byte 12)"],
  ])('%j → %s', async (body, problem, where, message) => {
    const err = await failure(body);
    expect(err).toBeInstanceOf(HostListEnvelopeError);
    expect(err).toMatchObject({ problem, issues: [{ path: where, message }], path: '/api/v0/hosts' });
    expect(err.message).toContain('Mackerel API GET /api/v0/hosts answered an unexpected shape: ');
  });

  it('fails as soon as the envelope is wrong, before the rest of the body arrives', () => {
    const scanner = new HostListScanner(() => undefined);
    expect(() => scanner.push(utf8('{"hosts":{'))).toThrow(HostListEnvelopeError);
  });

  it('a body that stops anywhere inside the envelope is truncated, naming where and after how many bytes', async () => {
    const bytes = utf8(TRICKY.trimEnd());
    for (let end = 1; end < bytes.length; end++) {
      const prefix = bytes.slice(0, end);
      if (new TextDecoder().decode(prefix).trim() === '') continue;
      const err = await failure([prefix]);
      expect(err, `body cut at byte ${end}`).toBeInstanceOf(HostListTruncatedError);
      expect((err as HostListTruncatedError).bytes).toBe(end);
    }
    const err = await failure('{"hosts":[{"id":"a"},{"id":"b","meta":{');
    expect(err.message).toBe(
      'Mackerel API GET /api/v0/hosts failed: host list truncated after 39 bytes: the body ends inside hosts.1',
    );
  });
});

/** A Response whose body is written by `write`, which gets `enqueue` and may stop calling it (a stall). */
function streamed(write: (enqueue: (s: string) => void, close: () => void) => void, status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      write(
        (s) => controller.enqueue(utf8(s)),
        () => controller.close(),
      );
    },
  });
  return new Response(body, { status, headers: { 'content-type': 'application/json' } });
}

/** An `open` that remembers its signal. */
function opener(respond: (signal: AbortSignal) => Promise<Response>) {
  const o = { signal: undefined as AbortSignal | undefined, calls: 0 };
  const open = (signal: AbortSignal) => {
    o.signal = signal;
    o.calls++;
    return respond(signal);
  };
  return { o, open };
}

const bounds = { ttfbMs: 1000, idleMs: 1000 };

describe('readHostStream: time bounds', () => {
  it('reads a whole body and counts its bytes', async () => {
    const { o, open } = opener(async () =>
      streamed((enqueue, close) => {
        enqueue('{"hosts":[{"id":"a"},');
        enqueue('{"id":"b"}]}');
        close();
      }),
    );
    const got: unknown[] = [];
    expect(await readHostStream(open, (h) => got.push(h), bounds)).toEqual({ ok: true, count: 2, bytes: 33 });
    expect(got).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(o.signal?.aborted).toBe(false);
  });

  it('no headers within ttfbMs: HostListFirstByteTimeoutError, and the request is aborted', async () => {
    const { o, open } = opener(() => new Promise<Response>(() => undefined));
    const err = await readHostStream(open, () => undefined, { ttfbMs: 50, idleMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostListFirstByteTimeoutError);
    expect(err).toMatchObject({ bound: 'first-byte', limitMs: 50, bytes: 0, timedOut: true });
    expect((err as Error).message).toBe(
      'Mackerel API GET /api/v0/hosts failed: host list: no response within 50 ms (time to first byte)',
    );
    expect(o.signal?.aborted).toBe(true);
  });

  it('part of the body then nothing: HostListStalledError naming the idle bound and the bytes read', async () => {
    const { o, open } = opener(async () => streamed((enqueue) => enqueue('{"hosts":[{"id":"a"},{"id":')));
    const got: unknown[] = [];
    const err = await readHostStream(open, (h) => got.push(h), { ttfbMs: 1000, idleMs: 80 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostListStalledError);
    expect(err).toMatchObject({ bound: 'idle', limitMs: 80, bytes: 27 });
    expect((err as Error).message).toBe(
      'Mackerel API GET /api/v0/hosts failed: host list stalled: no data for 80 ms after 27 bytes',
    );
    expect(got).toEqual([{ id: 'a' }]);
    expect(o.signal?.aborted).toBe(true);
  });

  it('a steady trickle is never idle, but the deadline ends it: HostListDeadlineError', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { o, open } = opener(async () =>
      streamed((enqueue) => {
        enqueue('{"hosts":[');
        let n = 0;
        timer = setInterval(() => enqueue(`${n++ === 0 ? '' : ','}{"id":"h${n}"}`), 10);
      }),
    );
    const deadline = Date.now() + 250;
    const err = await readHostStream(open, () => undefined, { ttfbMs: 1000, idleMs: 100, deadline }).catch(
      (e: unknown) => e,
    );
    clearInterval(timer);
    expect(err).toBeInstanceOf(HostListDeadlineError);
    expect(err).toMatchObject({ bound: 'deadline' });
    expect((err as HostListDeadlineError).bytes).toBeGreaterThan(10);
    expect((err as Error).message).toMatch(/host list missed the run's deadline: \d+ bytes read in \d+ ms$/);
    expect(o.signal?.aborted).toBe(true);
  });

  it('a deadline already past: nothing is requested', async () => {
    const { o, open } = opener(async () => streamed((_e, close) => close()));
    const err = await readHostStream(open, () => undefined, { ...bounds, deadline: Date.now() - 1 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostListDeadlineError);
    expect(o.calls).toBe(0);
  });

  it('a broken connection mid-body is a truncated body, after the bytes read', async () => {
    const { open } = opener(async () => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(utf8('{"hosts":[{"id":"a"}'));
          setTimeout(() => c.error(new TypeError('terminated')), 5);
        },
      });
      return new Response(body);
    });
    const err = await readHostStream(open, () => undefined, bounds).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostListTruncatedError);
    expect((err as Error).message).toBe(
      'Mackerel API GET /api/v0/hosts failed: host list truncated after 20 bytes: terminated',
    );
  });

  it('a wrong envelope stops the download', async () => {
    const { o, open } = opener(async () => streamed((enqueue) => enqueue('{"hosts":"no"')));
    await expect(readHostStream(open, () => undefined, bounds)).rejects.toBeInstanceOf(HostListEnvelopeError);
    expect(o.signal?.aborted).toBe(true);
  });

  it('not 2xx: hands back status, Retry-After and the error body for the caller to judge', async () => {
    const { open } = opener(async () => {
      const res = streamed((enqueue, close) => {
        enqueue('{"error":{"message":"slow down"}}');
        close();
      }, 429);
      res.headers.set('retry-after', '3');
      return res;
    });
    const got: unknown[] = [];
    expect(await readHostStream(open, (h) => got.push(h), bounds)).toEqual({
      ok: false,
      status: 429,
      statusText: '',
      retryAfter: '3',
      text: '{"error":{"message":"slow down"}}',
    });
    expect(got).toEqual([]);
  });
});
