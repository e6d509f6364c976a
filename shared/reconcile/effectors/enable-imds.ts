/** IMDS remediation: ModifyInstanceMetadataOptions takes one instance a call. */
import type { EnableImdsAction } from '../types.js';
import { perAction } from './effector.js';

export const enableImds = perAction<EnableImdsAction>({
  kind: 'enable-imds',
  concurrency: 4,
  call: (a, ctx) => ctx.fleet.enableMetadataEndpoint(a.region, a.instanceId),
  describe: (a) => ({ detail: { region: a.region } }),
});
