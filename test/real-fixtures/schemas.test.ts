/**
 * Every published fixture through the schemas, table-driven from test/fixtures/real/manifest.json: the expected
 * outcome and its reason live next to the data. (The same bodies go through the handlers in
 * test/integration/real-fixtures.test.ts.)
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Ec2StateChangeEvent,
  InputError,
  parseInput,
  ReplayPayload,
  ScheduledEvent,
} from '../../shared/events/schemas.js';
import {
  ErrorBody,
  Host,
  HostResponse,
  HostsResponse,
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

/** The host(s) inside a body whose envelope is right; throws when the envelope itself is wrong. */
function hostsOf(schema: MackerelSchemaName, body: unknown): Record<string, unknown>[] {
  const hostLike = z.record(z.string(), z.unknown());
  if (schema === 'HostResponse') return [z.object({ host: hostLike }).parse(body).host];
  if (schema === 'HostsResponse') return z.object({ hosts: z.array(hostLike) }).parse(body).hosts;
  if (schema === 'Host') return [hostLike.parse(body)];
  throw new Error(`${schema} holds no hosts`);
}

const topFields = (issues: readonly z.core.$ZodIssue[], depth: number) =>
  [...new Set(issues.map((i) => i.path.slice(depth, depth + 1).map(String).join('.')))].sort();

describe('the manifest covers every fixture file', () => {
  it.each(['mackerel', 'events', 'ec2'] as const)('%s', (kind) => {
    const files = readdirSync(`${REAL_DIR}${kind}`).map((f) => `${kind}/${f}`);
    expect(manifest[kind].map((e) => e.file).sort()).toEqual(files.sort());
  });
});

describe('Mackerel bodies through shared/mackerel/schemas.ts', () => {
  it.each(manifest.mackerel.map((e) => [e.file, e] as const))('%s', (file, e) => {
    const body = realJson<unknown>(file);
    if (e.outcome === 'unconsumed') {
      expect(e.schema).toBeNull();
      return;
    }
    const schema = SCHEMAS[e.schema as MackerelSchemaName];
    const res = schema.safeParse(body);
    if (e.outcome === 'accepted') {
      expect(res.error?.issues ?? []).toEqual([]);
      return;
    }
    expect(res.success).toBe(false);
    if (e.outcome === 'rejected') {
      // the envelope itself: the issues name a top-level key of the body
      expect(topFields(res.error?.issues ?? [], 0)).toEqual([...(e.fields ?? [])].sort());
      return;
    }
    // quarantined: the envelope is right, one host's own fields are not
    const hosts = hostsOf(e.schema as MackerelSchemaName, body);
    expect(hosts).toHaveLength(1);
    const host = hosts[0] as Record<string, unknown>;
    expect(host.id).toBe(e.hostId);
    const own = Host.safeParse(host);
    expect(own.success).toBe(false);
    expect(topFields(own.error?.issues ?? [], 0)).toEqual([...(e.fields ?? [])].sort());
  });
});

describe('EventBridge events through shared/events/schemas.ts', () => {
  it.each(manifest.events.map((e) => [e.file, e] as const))('%s', (file, e) => {
    const event = realJson<unknown>(file);
    if (e.outcome === 'accepted') {
      expect(() => parseInput(Ec2StateChangeEvent, event, 'EC2 state-change event')).not.toThrow();
      expect(() => parseInput(ReplayPayload, { events: [event] }, 'replay payload')).not.toThrow();
    } else {
      let error: unknown;
      try {
        parseInput(Ec2StateChangeEvent, event, 'EC2 state-change event');
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
