/**
 * Graph annotations: once a run has acted, one annotation per Mackerel service whose hosts it retired or powered
 * off, so that whoever watches that service's graphs sees why hosts vanished or went quiet, and when. Pure: built
 * from the run's settled results and the roles of the hosts as observed; the run posts them (`run.ts`).
 */
import type { ActionResult } from './execute.js';
import type { GraphAnnotation, Host } from './model.js';

/** Mackerel refuses longer ones with a 400 (api-docs, graph annotations). */
export const ANNOTATION_TITLE_MAX = 250;
export const ANNOTATION_DESCRIPTION_MAX = 1024;
const TITLE_PREFIX = 'mackerel-reconciler: ';

/** What an annotation needs of a host: its name and its services. */
export type AnnotatedHost = Pick<Host, 'id' | 'name' | 'roles'>;

export interface AnnotationPlan {
  annotations: GraphAnnotation[];
  /** hosts acted on that belong to no service: no graph to mark them on */
  withoutService: string[];
}

type Verb = 'retired' | 'powered off';

interface Change {
  verb: Verb;
  hostId: string;
  line: string;
}

/** A retirement or a poweroff that really happened (not planned, held or failed). */
export function verbOf(r: ActionResult): Verb | undefined {
  if (r.outcome !== 'done' || r.hostId === undefined) return undefined;
  if (r.kind === 'retire') return 'retired';
  if (r.kind === 'set-status' && r.detail?.to === 'poweroff') return 'powered off';
  return undefined;
}

const plural = (n: number) => `${n} host${n === 1 ? '' : 's'}`;

/** "retired 3 hosts, 1 powered off", "powered off 2 hosts". */
export function titleOf(retired: number, poweredOff: number): string {
  const parts: string[] = [];
  if (retired > 0) parts.push(`retired ${plural(retired)}`);
  if (poweredOff > 0) parts.push(parts.length > 0 ? `${poweredOff} powered off` : `powered off ${plural(poweredOff)}`);
  return `${TITLE_PREFIX}${parts.join(', ')}`.slice(0, ANNOTATION_TITLE_MAX);
}

/** One line per change, as many as fit in Mackerel's limit, then how many more there were. */
export function describeChanges(changes: readonly Change[], max = ANNOTATION_DESCRIPTION_MAX): string {
  const lines: string[] = [];
  let used = 0;
  for (const [i, c] of changes.entries()) {
    const rest = changes.length - i - 1;
    // keep room for the "… and N more" line unless this is the last change
    const reserve = rest > 0 ? `\n… and ${rest} more`.length : 0;
    const line = c.line.length > max ? `${c.line.slice(0, max - 1)}…` : c.line;
    const cost = (lines.length > 0 ? 1 : 0) + line.length;
    if (used + cost + reserve > max) {
      lines.push(`… and ${changes.length - i} more`);
      return lines.join('\n').slice(0, max);
    }
    lines.push(line);
    used += cost;
  }
  return lines.join('\n');
}

function changeOf(r: ActionResult, verb: Verb, host: AnnotatedHost | undefined): Change {
  const hostId = r.hostId as string;
  const name = (r.detail?.hostName as string | undefined) ?? host?.name ?? hostId;
  return { verb, hostId, line: `${verb} ${name} (${hostId}, ${r.instanceId}): ${r.reason}` };
}

/**
 * The annotations of one run: for each service with at least one host retired or powered off, one annotation over
 * the run's span (`from`..`to`, epoch s) with the counts in its title and the hosts, instances and reasons below.
 */
export function buildAnnotations(
  results: readonly ActionResult[],
  hosts: ReadonlyMap<string, AnnotatedHost>,
  span: { from: number; to: number },
): AnnotationPlan {
  const byService = new Map<string, Change[]>();
  const withoutService = new Set<string>();
  for (const r of results) {
    const verb = verbOf(r);
    if (verb === undefined) continue;
    const host = hosts.get(r.hostId as string);
    const services = Object.keys(host?.roles ?? {}).sort();
    if (services.length === 0) withoutService.add(r.hostId as string);
    for (const service of services) {
      const list = byService.get(service) ?? [];
      list.push(changeOf(r, verb, host));
      byService.set(service, list);
    }
  }
  const annotations = [...byService.keys()].sort().map((service): GraphAnnotation => {
    const changes = byService.get(service) as Change[];
    // retirements first: they are the ones a graph loses a line for
    const ordered = [...changes].sort((a, b) => (a.verb === b.verb ? a.line.localeCompare(b.line) : a.verb === 'retired' ? -1 : 1));
    const retired = changes.filter((c) => c.verb === 'retired').length;
    return {
      title: titleOf(retired, changes.length - retired),
      description: describeChanges(ordered),
      from: Math.min(span.from, span.to),
      to: span.to,
      service,
    };
  });
  return { annotations, withoutService: [...withoutService].sort() };
}
