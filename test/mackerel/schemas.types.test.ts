/**
 * The domain owns its types (`shared/reconcile/model.ts`); the adapters' schemas must produce values that fit
 * them. These checks are compile-time (`npm run typecheck`); the runtime part only keeps vitest content.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { ALL_LIVE_STATUSES, type CheckReport, type CheckStatus, Host, type HostStatus } from '../../shared/mackerel/schemas.js';
import type { HostList as ReadHostList } from '../../shared/mackerel/host-read.js';
import type { Ec2StateChangeEvent } from '../../shared/events/schemas.js';
import type * as Domain from '../../shared/reconcile/model.js';

describe('schemas produce the domain’s types', () => {
  it('host, statuses, check reports, state-change events', () => {
    expectTypeOf<z.output<typeof Host>>().toExtend<Domain.Host>();
    expectTypeOf<HostStatus>().toEqualTypeOf<Domain.HostStatus>();
    expectTypeOf<CheckStatus>().toEqualTypeOf<Domain.CheckStatus>();
    expectTypeOf<CheckReport>().toExtend<Domain.CheckReport>();
    expectTypeOf<Domain.CheckReport>().toExtend<CheckReport>();
    expectTypeOf<ReadHostList>().toExtend<Domain.HostList>();
    expectTypeOf<Ec2StateChangeEvent>().toExtend<Domain.InstanceStateEvent>();
    // A parsed host is a domain host at run time too: defaults fill what the domain requires.
    const parsed: Domain.Host = Host.parse({ id: 'h', name: 'n', status: 'working', createdAt: 1 });
    expect(parsed).toMatchObject({ roles: {}, isRetired: false, meta: {} });
    expect([...ALL_LIVE_STATUSES].sort()).toEqual(['maintenance', 'poweroff', 'standby', 'working']);
  });
});
