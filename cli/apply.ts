/**
 * `apply`: plan (a dry run), show it, ask, then run for real performing only the actions shown.
 *
 * The real run observes and plans again (EC2 and Mackerel may have moved while the question waited) and is
 * given the confirmed action keys: an action planned only now is reported `not-confirmed` and left alone,
 * and a confirmed action no longer planned is not forced. Both are listed after the outcomes, so a person
 * sees whenever what happened differs from what they said yes to.
 */
import type { Report } from '../shared/reconcile/run.js';
import type { CommandContext } from './command.js';
import { reconcile } from './command.js';
import { confirm } from './confirm.js';
import { EXIT, type ExitCode } from './exit.js';
import { widthOf } from './io.js';
import { readPlan, refusal } from './saved-plan.js';
import { plural, renderOutcomes, renderPlan } from './table.js';

/** How the run differed from the plan that was confirmed. */
export function differences(shown: { actions: readonly { key: string }[] }, applied: Report): string {
  const planned = new Set(applied.actions.map((a) => a.key));
  const dropped = shown.actions.filter((a) => !planned.has(a.key));
  const added = applied.actions.filter((a) => a.outcome === 'not-confirmed');
  const lines: string[] = [];
  if (dropped.length > 0) {
    lines.push(
      `The fleet changed after the plan: ${plural(dropped.length, 'confirmed action')} no longer needed, ` +
        `not performed: ${dropped.map((a) => a.key).join(', ')}`,
    );
  }
  if (added.length > 0) {
    lines.push(
      `${plural(added.length, 'action')} planned only after the confirmation ${added.length === 1 ? 'was' : 'were'} ` +
        'not performed: run apply again to review.',
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}

export async function apply(ctx: CommandContext): Promise<ExitCode> {
  const { rt, options, io } = ctx;
  if (rt.config.dryRun) {
    io.stderr.write('mackerel-reconciler: DRY_RUN=true is set: unset it to apply, or run plan.\n');
    return EXIT.failed;
  }
  if (options.planFile !== undefined) return applySaved(ctx, options.planFile);
  // With --json, stdout carries only the JSON: the person's view (and the question) goes to stderr.
  const human = options.json ? io.stderr : io.stdout;
  const layout = { width: widthOf(human) };

  const shown = await reconcile(ctx, 'plan', { dryRun: true });
  const json = (applied: Report | null) => {
    if (options.json) io.stdout.write(`${JSON.stringify({ plan: shown, apply: applied }, null, 2)}\n`);
  };
  human.write(renderPlan(shown, layout));
  // What a guard holds back is shown, never applied: it is not in the plan to confirm.
  const performable = shown.actions.filter((a) => a.outcome !== 'held');
  if (performable.length === 0) {
    human.write(shown.status === 'ok' ? '\nNothing to apply.\n' : '\nNothing to apply in what could be read: the run was incomplete.\n');
    json(null);
    return shown.status === 'ok' ? EXIT.ok : EXIT.failed;
  }
  if (!options.yes) {
    const question = `\nApply ${plural(performable.length, 'action')}? [y/N] `;
    if (!(await confirm(question, io.stdin, io.stderr))) {
      human.write('Apply cancelled: nothing was changed.\n');
      json(null);
      return EXIT.failed;
    }
  }

  const confirmed = new Set(performable.map((a) => a.key));
  const applied = await reconcile(ctx, 'apply', { dryRun: false, only: confirmed });
  json(applied);
  if (applied.status === 'skipped') {
    human.write(`\nNot applied, nothing was changed: ${applied.skipped ?? 'skipped'}. Try again shortly.\n`);
    return EXIT.failed;
  }
  human.write(`\n${renderOutcomes(applied, layout)}`);
  human.write(differences(shown, applied));
  return applied.status === 'ok' ? EXIT.ok : EXIT.failed;
}

/**
 * `apply plan.json`: the saved plan's action keys are the confirmed plan (no question: it was reviewed when
 * saved). Refused for another account or region set, or when older than --max-age.
 */
async function applySaved(ctx: CommandContext, path: string): Promise<ExitCode> {
  const { rt, options, io } = ctx;
  const human = options.json ? io.stderr : io.stdout;
  const saved = await readPlan(path);
  const why = refusal(
    saved,
    { accountId: rt.accountId, regions: rt.config.regions, now: rt.clock(), maxAgeMs: options.maxAgeMs },
    path,
  );
  if (why !== undefined) {
    io.stderr.write(`mackerel-reconciler: ${why}. Nothing was changed.\n`);
    return EXIT.failed;
  }
  if (saved.actionKeys.length === 0) {
    human.write(`The plan in ${path} has no actions: nothing to apply.\n`);
    if (options.json) io.stdout.write(`${JSON.stringify({ plan: saved, apply: null }, null, 2)}\n`);
    return EXIT.ok;
  }
  human.write(`Applying the plan saved in ${path} at ${saved.createdAt}: ${plural(saved.actionKeys.length, 'action')}.\n`);
  // The same instances and circuit breaker limits as when the plan was made.
  const scoped = {
    ...ctx,
    rt: { ...rt, config: { ...rt.config, ...saved.limits } },
    options: { ...options, instanceIds: saved.instanceIds ?? [] },
  };
  const applied = await reconcile(scoped, 'apply', { dryRun: false, only: new Set(saved.actionKeys) });
  if (options.json) io.stdout.write(`${JSON.stringify({ plan: saved, apply: applied }, null, 2)}\n`);
  if (applied.status === 'skipped') {
    human.write(`\nNot applied, nothing was changed: ${applied.skipped ?? 'skipped'}. Try again shortly.\n`);
    return EXIT.failed;
  }
  human.write(`\n${renderOutcomes(applied, { width: widthOf(human) })}`);
  human.write(differences(saved, applied));
  return applied.status === 'ok' ? EXIT.ok : EXIT.failed;
}
