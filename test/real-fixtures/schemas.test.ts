/**
 * Every published fixture through the schemas, table-driven from test/fixtures/real/manifest.json: the expected
 * outcome and its reason live next to the data. (The same bodies go through the handlers in
 * test/integration/real-fixtures.test.ts.)
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  InputError,
  InstanceEvent,
  parseInput,
  ReplayPayload,
  ScheduledEvent,
} from '../../shared/events/schemas.js';
import { readHost } from '../../shared/mackerel/host-read.js';
import {
  ErrorBody,
  Host,
  HostResponse,
  HostsResponse,
  TsdbLatestEntry,
  TsdbLatestResponse,
} from '../../shared/mackerel/schemas.js';
import { type MackerelSchemaName, manifest, REAL_DIR, realJson } from '../support/real-fixtures.js';

const SCHEMAS: Record<MackerelSchemaName, z.ZodType> = {
  HostResponse,
  HostsResponse,
  Host,
  TsdbLatestResponse,
  ErrorBody,
};

/** The raw host(s) of a body whose envelope is right, with where each sits in the response. */
function rawHosts(schema: MackerelSchemaName, body: unknown): { raw: unknown; where: string }[] {
  if (schema === 'HostResponse') return [{ raw: (body as { host?: unknown }).host, where: 'host' }];
  if (schema === 'HostsResponse') {
    return (body as { hosts: unknown[] }).hosts.map((raw, i) => ({ raw, where: `hosts.${i}` }));
  }
  return [{ raw: body, where: 'host' }];
}

const topFields = (issues: readonly z.core.$ZodIssue[]) =>
  [...new Set(issues.map((i) => i.path.slice(0, 1).map(String).join('.')))].sort();
/** `hosts.3.meta` or `host.meta` → `meta`: the host's own field an unreadable entry names. */
const ownField = (field: string) => field.replace(/^hosts?\.(\d+\.)?/, '');

describe('the manifest covers every fixture file', () => {
  it.each(['mackerel', 'events', 'ec2'] as const)('%s', (kind) => {
    const files = readdirSync(`${REAL_DIR}${kind}`).map((f) => `${kind}/${f}`);
    expect(manifest[kind].map((e) => e.file).sort()).toEqual(files.sort());
  });
});

describe('Mackerel bodies through shared/mackerel/schemas.ts and host-read.ts', () => {
  it.each(manifest.mackerel.map((e) => [e.file, e] as const))('%s', (file, e) => {
    const body = realJson<unknown>(file);
    if (e.outcome === 'unconsumed' || e.schema === null) {
      expect(e.schema).toBeNull();
      return;
    }
    // the envelope first: only a wrong envelope fails a whole response
    const envelope = (e.schema === 'Host' ? z.record(z.string(), z.unknown()) : SCHEMAS[e.schema]).safeParse(body);
    if (e.schema === 'TsdbLatestResponse' || e.schema === 'ErrorBody') {
      expect(envelope.error?.issues ?? []).toEqual([]);
      if (e.schema === 'TsdbLatestResponse') {
        for (const entry of Object.values((body as { tsdbLatest: object }).tsdbLatest)) {
          expect(TsdbLatestEntry.safeParse(entry).success).toBe(true);
        }
      }
      expect(e.outcome).toBe('accepted');
      return;
    }
    if (!envelope.success) {
      expect(e.outcome).toBe('rejected');
      expect(topFields(envelope.error.issues)).toEqual([...(e.fields ?? [])].sort());
      return;
    }
    // then each host on its own
    const reads = rawHosts(e.schema, body).map(({ raw, where }) => ({ raw, read: readHost(raw, where) }));
    const unreadable = reads.flatMap((r) => (r.read.ok ? [] : [r.read.unreadable]));
    if (e.outcome === 'accepted') {
      expect(unreadable).toEqual([]);
      return;
    }
    expect(unreadable).toHaveLength(1);
    const u = unreadable[0] as (typeof unreadable)[number];
    if (e.outcome === 'rejected') {
      // no host at all where one must be: the field is the envelope's own key
      expect([u.field]).toEqual(e.fields);
      expect(u.id).toBeUndefined();
      return;
    }
    // quarantined: the host is set aside with its id (when it has one) and a field the manifest names
    expect(u.id).toBe(e.hostId);
    expect(e.fields).toContain(ownField(u.field));
    const own = Host.safeParse(reads[0]?.raw);
    expect(topFields(own.error?.issues ?? [])).toEqual([...(e.fields ?? [])].sort());
  });
});

describe('EventBridge events through shared/events/schemas.ts', () => {
  it.each(manifest.events.map((e) => [e.file, e] as const))('%s', (file, e) => {
    const event = realJson<unknown>(file);
    if (e.outcome === 'accepted') {
      expect(() => parseInput(InstanceEvent, event, 'EC2 instance event')).not.toThrow();
      expect(() => parseInput(ReplayPayload, { events: [event] }, 'replay payload')).not.toThrow();
    } else {
      let error: unknown;
      try {
        parseInput(InstanceEvent, event, 'EC2 instance event');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InputError);
      const issues = (error as InputError).issues;
      expect([...new Set(issues.map((i) => i.path))].sort()).toEqual([...(e.fields ?? [])].sort());
      // the message a person reads names every field
      for (const f of e.fields ?? []) expect((error as Error).message).toContain(`${f}: `);
      // inside a replay payload the same fields are named under events.0
      expect(() => parseInput(ReplayPayload, { events: [event] }, 'replay payload')).toThrow(
        `events.0.${e.fields?.[0]}: `,
      );
    }
    if (e.sweep === 'accepted') expect(ScheduledEvent.safeParse(event).success).toBe(true);
  });
});
