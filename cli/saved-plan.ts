/**
 * A saved plan, as Terraform's: `plan --out plan.json` writes what was planned, `apply plan.json` performs
 * exactly those actions (their keys go to the engine as the confirmed plan) and refuses a plan made for
 * another account or region set, for other instances, or older than `--max-age`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { clipText } from '../shared/errors.js';
import type { Report } from '../shared/reconcile/run.js';

export const PLAN_FORMAT = 'mackerel-reconciler-plan';
export const PLAN_FORMAT_VERSION = 1;

const SavedAction = z.looseObject({
  key: z.string().min(1),
  kind: z.string().min(1),
  instanceId: z.string(),
  hostId: z.string().optional(),
  reason: z.string(),
});

export const SavedPlan = z.object({
  format: z.literal(PLAN_FORMAT),
  formatVersion: z.literal(PLAN_FORMAT_VERSION),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  regions: z.array(z.string().min(1)).min(1),
  /** the instances the plan was limited to (`--instance`); absent: the whole fleet */
  instanceIds: z.array(z.string()).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  /** the keys apply performs; the actions are for a person to read */
  actionKeys: z.array(z.string().min(1)),
  actions: z.array(SavedAction),
  /** the circuit breaker's limits the plan was made under (`--max-retire`…): apply runs under the same */
  limits: z.object({ maxRetirePerRun: z.number().int().min(0), maxRetirePercent: z.number().min(0).max(100) }),
});
export type SavedPlan = z.infer<typeof SavedPlan>;

/** A plan file that cannot be applied: the message names the file and the field or the mismatch. */
export class PlanFileError extends Error {
  override name = 'PlanFileError';
}

export function savedPlanOf(
  report: Report,
  scope: { regions: readonly string[]; instanceIds: readonly string[]; limits: SavedPlan['limits'] },
): SavedPlan {
  const { regions, instanceIds, limits } = scope;
  const actions = report.actions.filter((a) => a.outcome !== 'held');
  return {
    format: PLAN_FORMAT,
    formatVersion: PLAN_FORMAT_VERSION,
    accountId: report.accountId,
    regions: [...regions].sort(),
    ...(instanceIds.length > 0 ? { instanceIds: [...instanceIds].sort() } : {}),
    createdAt: report.startedAt,
    actionKeys: actions.map((a) => a.key),
    actions: actions.map((a) => ({ ...a })),
    limits,
  };
}

export async function writePlan(path: string, plan: SavedPlan): Promise<void> {
  await writeFile(path, `${JSON.stringify(plan, null, 2)}\n`, 'utf8');
}

export async function readPlan(path: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PlanFileError(`cannot read plan file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PlanFileError(`plan file ${path} is not JSON (${(e as Error).message}); write one with "plan --out"`);
  }
  const res = SavedPlan.safeParse(json);
  if (!res.success) {
    const issue = res.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(top level)';
    throw new PlanFileError(
      `plan file ${path} is malformed: ${field}: ${clipText(issue?.message ?? 'invalid', 200)}; write one with "plan --out"`,
    );
  }
  return res.data;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** Why this plan must not be applied here and now; undefined when it may. */
export function refusal(
  plan: SavedPlan,
  here: { accountId: string; regions: readonly string[]; now: number; maxAgeMs: number },
  path: string,
): string | undefined {
  if (plan.accountId !== here.accountId) {
    return `plan file ${path} was made for account ${plan.accountId}, these credentials are for ${here.accountId}`;
  }
  if (!sameSet(plan.regions, here.regions)) {
    return `plan file ${path} covers regions ${plan.regions.join(',')}, this run ${[...here.regions].sort().join(',')} (set --regions or REGIONS as when planning)`;
  }
  const age = here.now - Date.parse(plan.createdAt);
  if (age > here.maxAgeMs) {
    return `plan file ${path} is ${describeMs(age)} old, older than --max-age ${describeMs(here.maxAgeMs)}: plan again (or pass a larger --max-age)`;
  }
  if (age < -5 * 60_000) return `plan file ${path} was created in the future (${plan.createdAt}): check the clock`;
  return undefined;
}

/** "1h", "30m", "90s", "2h30m" → milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const [, h, min, s] = m;
  return ((Number(h ?? 0) * 60 + Number(min ?? 0)) * 60 + Number(s ?? 0)) * 1000;
}

export function describeMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}
