// Mackerel's graph annotations (https://mackerel.io/api-docs/entry/graph-annotations) as the fake API keeps them:
// the body is checked as the real API does (title ≤ 250, description ≤ 1024, from ≤ to, epoch seconds; a service or
// role nobody has is a 404), and each stored annotation gets an id like Mackerel's.

export interface FakeGraphAnnotation {
  id: string;
  title: string;
  description?: string;
  from: number;
  to: number;
  service: string;
  roles?: string[];
}

export type AnnotationCheck =
  | { ok: true; annotation: Omit<FakeGraphAnnotation, 'id'> }
  | { ok: false; status: number; message: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEpochSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const bad = (message: string): AnnotationCheck => ({ ok: false, status: 400, message });

/** Checks a POST body against the API's rules; `roles` maps each service that exists to its roles. */
export function checkGraphAnnotation(body: unknown, roles: ReadonlyMap<string, ReadonlySet<string>>): AnnotationCheck {
  if (!isRecord(body)) return bad('body must be a JSON object');
  const { title, description, from, to, service } = body;
  if (typeof title !== 'string' || title.length === 0) return bad('title is required');
  if (title.length > 250) return bad('title exceeds 250 characters');
  if (description !== undefined && typeof description !== 'string') return bad('description must be a string');
  if (typeof description === 'string' && description.length > 1024) return bad('description exceeds 1024 characters');
  if (!isEpochSeconds(from)) return bad('from is required (epoch seconds)');
  if (!isEpochSeconds(to)) return bad('to is required (epoch seconds)');
  // Epoch milliseconds are a plausible mistake: they would put the annotation thousands of years ahead.
  if (from > 1e11 || to > 1e11) return bad('from and to must be epoch seconds, not milliseconds');
  if (from > to) return bad('from exceeds to');
  if (typeof service !== 'string' || service.length === 0) return bad('service is required');
  if (body.roles !== undefined && (!Array.isArray(body.roles) || body.roles.some((r) => typeof r !== 'string'))) {
    return bad('roles must be an array of strings');
  }
  const known = roles.get(service);
  if (known === undefined) return { ok: false, status: 404, message: `Service ${service} not found` };
  const asked = body.roles as string[] | undefined;
  const missing = asked?.find((r) => !known.has(r));
  if (missing !== undefined) return { ok: false, status: 404, message: `Role ${service}:${missing} not found` };
  return {
    ok: true,
    annotation: {
      title,
      ...(description === undefined ? {} : { description }),
      from,
      to,
      service,
      ...(asked === undefined ? {} : { roles: asked }),
    },
  };
}

/** `GET /api/v0/graph-annotations?service=…&from=…&to=…`: the service's annotations that intersect the span. */
export function annotationsBetween(
  all: readonly FakeGraphAnnotation[],
  service: string,
  from: number,
  to: number,
): FakeGraphAnnotation[] {
  return all.filter((a) => a.service === service && a.from <= to && a.to >= from);
}
