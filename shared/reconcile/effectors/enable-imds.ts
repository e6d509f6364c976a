/** IMDS remediation: ModifyInstanceMetadataOptions takes one instance a call. */
import type { EnableImdsAction } from '../types.js';
import { done, type Effector, eachAlone } from './effector.js';

export const enableImds: Effector<EnableImdsAction> = {
  kind: 'enable-imds',
  ledgered: true,
  concurrency: 4,
  batch: eachAlone,
  async perform([a], ctx) {
    if (!a) return [];
    await ctx.fleet.enableMetadataEndpoint(a.region, a.instanceId);
    return done([a]);
  },
  describe: (a) => ({ detail: { region: a.region } }),
};
