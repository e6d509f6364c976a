/**
 * An effector performs one kind of action (the model: Powertools' BatchProcessor, Cloud Custodian's per-action
 * classes): how its actions are cut into batches, how one batch is performed through a port, and which outcome
 * each action gets. The executor claims, runs the effectors in their registered order (`index.ts`), commits
 * the outcomes and publishes; it knows no action kind itself.
 */
import type { AlertDesk, Fleet, HostDirectory, InstanceManager, InstanceOutcome, SilenceBackend } from '../ports.js';
import type { Action, RestoreMemo } from '../types.js';

/** What an effector may use while it performs. */
export interface EffectContext {
  hosts: HostDirectory;
  fleet: Fleet;
  /** epoch seconds that stamp this run's check reports and their memos: read once, when first asked */
  stamp(): number;
  /** instances EC2 itself answered `terminated` for in this run: a final state, no second look needed */
  terminated: ReadonlySet<string>;
  /** Alertmanager, when that backend is on */
  silences?: SilenceBackend;
  /** SSM, for the agent repair; absent: not configured */
  agents?: InstanceManager;
  /** open alerts (absent without an alerts backend) */
  alerts?: AlertDesk;
}

/** Where an effector's side effects land, for the report (the existing kinds act on Mackerel or on EC2 for it). */
export type Backend = 'mackerel' | 'alertmanager';

/** An action's outcome from its effector. */
export type Settled<A extends Action = Action> =
  | { action: A; outcome: 'done' }
  | { action: A; outcome: 'failed' | 'blocked' | 'deferred'; error: Error };

export interface Effector<A extends Action> {
  readonly kind: A['kind'];
  /** where its side effects land; absent: Mackerel */
  readonly backend?: Backend;
  /** claimed in the ledger before it runs and marked done after; false for state-only housekeeping */
  readonly ledgered: boolean;
  /** batches of this kind in flight at once (1: one after another) */
  readonly concurrency: number;
  /** the batches its actions are performed in, one port call each (the adapter may cut a call into requests) */
  batch(actions: readonly A[]): A[][];
  /** performs one batch: an outcome for each of its actions (a throw fails the whole batch) */
  perform(batch: readonly A[], ctx: EffectContext): Promise<Settled<A>[]>;
  /** what the report shows of an action besides its key, kind, instance and reason */
  describe(a: A): { hostId?: string; detail: Record<string, unknown> };
  /** a memo written with the claim, so that it exists before the side effect it will undo */
  claimMemo?(a: A, nowS: number): RestoreMemo | undefined;
  /** what a done action leaves in the ledger besides being done */
  commit?(a: A, into: InstanceOutcome, ctx: EffectContext): void;
}

export const done = <A extends Action>(actions: readonly A[]): Settled<A>[] =>
  actions.map((action) => ({ action, outcome: 'done' }));

/** Each action in a batch of its own. */
export const eachAlone = <A>(actions: readonly A[]): A[][] => actions.map((a) => [a]);

/** Every action of a batch in one batch (none when there is nothing to do). */
export const oneBatch = <A>(actions: readonly A[]): A[][] => (actions.length > 0 ? [[...actions]] : []);

/**
 * An effector with the usual defaults: ledgered, all its actions in one batch (the adapter cuts it into
 * requests), one batch at a time.
 */
export function effector<A extends Action>(
  spec: Pick<Effector<A>, 'kind' | 'perform' | 'describe'> & Partial<Effector<A>>,
): Effector<A> {
  return { ledgered: true, concurrency: 1, batch: oneBatch, ...spec };
}

/** An effector whose port takes one action a call: each action is a batch of its own, `concurrency` at once. */
export function perAction<A extends Action>(
  spec: Pick<Effector<A>, 'kind' | 'concurrency' | 'describe'> & { call(a: A, ctx: EffectContext): Promise<void> },
): Effector<A> {
  const { call, ...rest } = spec;
  return effector<A>({
    ...rest,
    batch: eachAlone,
    async perform(batch, ctx) {
      for (const a of batch) await call(a, ctx);
      return done(batch);
    },
  });
}

/** Outcomes of a bulk port call, matched back to the actions by the id each one sent. */
export function fromBulk<A extends Action, T>(
  actions: readonly A[],
  idOf: (a: A) => T,
  res: { failed: { id: T; error: Error }[] },
): Settled<A>[] {
  const failed = new Map(res.failed.map((f) => [f.id, f.error]));
  return actions.map((action) => {
    const error = failed.get(idOf(action));
    return error ? { action, outcome: 'failed', error } : { action, outcome: 'done' };
  });
}
