/** The published fixtures of test/fixtures/real and their manifest (expected outcome and reason per file). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REAL_DIR = fileURLToPath(new URL('../fixtures/real/', import.meta.url));

export type MackerelSchemaName = 'HostResponse' | 'HostsResponse' | 'Host' | 'TsdbLatestResponse' | 'ErrorBody';

export interface MackerelEntry {
  file: string;
  schema: MackerelSchemaName | null;
  outcome: 'accepted' | 'quarantined' | 'rejected' | 'unconsumed';
  hostId?: string;
  fields?: string[];
  reason: string;
}

export interface EventEntry {
  file: string;
  outcome: 'accepted' | 'rejected';
  fields?: string[];
  /** what the sweep handler makes of it, when that was checked */
  sweep?: 'accepted';
  reason: string;
}

export interface Ec2Entry {
  file: string;
  outcome: 'accepted';
  instances: {
    instanceId: string;
    state: string;
    privateDnsName?: string;
    privateIpAddress?: string;
    launchTime: string;
    httpEndpoint: 'enabled' | 'disabled';
    tags: Record<string, string>;
  }[];
  reason: string;
}

export interface Manifest {
  mackerel: MackerelEntry[];
  events: EventEntry[];
  ec2: Ec2Entry[];
}

export const manifest: Manifest = JSON.parse(readFileSync(`${REAL_DIR}manifest.json`, 'utf8')) as Manifest;

export function realText(file: string): string {
  return readFileSync(`${REAL_DIR}${file}`, 'utf8');
}

/** A fresh copy of a JSON fixture, safe to adapt. */
export function realJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(realText(file)) as T;
}

export function mackerelEntry(file: string): MackerelEntry {
  const e = manifest.mackerel.find((m) => m.file === file);
  if (!e) throw new Error(`${file} is not in manifest.json`);
  return e;
}

export function eventEntry(file: string): EventEntry {
  const e = manifest.events.find((m) => m.file === file);
  if (!e) throw new Error(`${file} is not in manifest.json`);
  return e;
}
