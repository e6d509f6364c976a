/**
 * Quarantine, don't halt: each host of a list is validated on its own. Real organisations hold old or odd
 * hosts (`meta` an empty string, a status this client does not know); one of them must not stop the run for
 * everyone else. A host that does not validate is left out of the list, and reported with the field at fault.
 */
import type { z } from 'zod';
import type { HostList, UnreadableHost } from '../reconcile/model.js';
import { Host } from './schemas.js';

export type { HostList, UnreadableHost };

export type HostRead = { ok: true; host: Host } | { ok: false; unreadable: UnreadableHost };

/** One raw host, as found at `where` (e.g. `hosts.3`), validated. */
export function readHost(raw: unknown, where: string): HostRead {
  const parsed = Host.safeParse(raw);
  if (parsed.success) return { ok: true, host: parsed.data };
  const issue: z.core.$ZodIssue | undefined = parsed.error.issues[0];
  const sub = issue?.path.map(String).join('.') ?? '';
  const id = raw !== null && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return {
    ok: false,
    unreadable: {
      ...(typeof id === 'string' && id !== '' ? { id } : {}),
      field: sub ? `${where}.${sub}` : where,
      problem: (issue?.message ?? 'invalid host').slice(0, 200),
    },
  };
}

export function readHosts(raws: readonly unknown[], where = 'hosts'): HostList {
  const out: HostList = { hosts: [], unreadable: [] };
  raws.forEach((raw, i) => {
    const r = readHost(raw, `${where}.${i}`);
    if (r.ok) out.hosts.push(r.host);
    else out.unreadable.push(r.unreadable);
  });
  return out;
}
