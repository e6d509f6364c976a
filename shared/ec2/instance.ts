/** The domain's view of an EC2 instance (`shared/reconcile/model.ts`), under the name this adapter always used. */
export type { Instance, InstanceState } from '../reconcile/model.js';
