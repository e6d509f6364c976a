/**
 * What of a listed host is kept: the fields the planner, matching and diagnosis read. An agent's `meta` is
 * several KB (cpu, memory, block devices, filesystems, kernel) of which only `cloud` and `agent-version` are
 * used, so it is cut down before validation: a host list then costs memory per host, not per byte of meta.
 *
 * Nothing is checked here. A field of the wrong shape is passed on as it is, so that the validator after this
 * sees it and names it (a `meta` that is a string stays a string).
 */

const HOST_FIELDS = [
  'id',
  'name',
  'displayName',
  'customIdentifier',
  'status',
  'roles',
  'createdAt',
  'isRetired',
] as const;
const META_FIELDS = ['cloud', 'agent-version'] as const;
const INTERFACE_FIELDS = ['name', 'ipAddress', 'ipv4Addresses', 'ipv6Addresses'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pick(from: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (Object.hasOwn(from, f)) out[f] = from[f];
  return out;
}

/** A raw host of the list, cut down to the fields that are used; anything not an object is returned as is. */
export function projectHost(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  const host = pick(raw, HOST_FIELDS);
  if (Object.hasOwn(raw, 'meta')) host.meta = isRecord(raw.meta) ? pick(raw.meta, META_FIELDS) : raw.meta;
  if (Object.hasOwn(raw, 'interfaces')) {
    const itfs = raw.interfaces;
    host.interfaces = Array.isArray(itfs)
      ? itfs.map((i: unknown) => (isRecord(i) ? pick(i, INTERFACE_FIELDS) : i))
      : itfs;
  }
  return host;
}
