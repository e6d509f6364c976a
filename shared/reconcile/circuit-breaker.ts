/**
 * The circuit breaker, a fleet-wide guard: a sweep that would retire more than MAX_RETIRE_PER_RUN hosts, or
 * more than MAX_RETIRE_PERCENT percent of the hosts it owns, retires nothing (a bad inventory looks exactly
 * like a mass termination). Every retirement it holds back stays visible in the trip's finding.
 */
import { isRetire } from './actions.js';
import type { Finding } from './model.js';
import type { Action, CircuitBreakerState, Policy } from './types.js';

export interface Guarded {
  /** the actions the guard lets through */
  actions: Action[];
  findings: Finding[];
  state: CircuitBreakerState;
  /** the retirements held back, with the reason: still in the report (outcome `held`) */
  held: { action: Action; reason: string }[];
}

export function circuitBreaker(actions: readonly Action[], ownedHosts: number, policy: Policy): Guarded {
  const held = actions.filter(isRetire);
  const retirements = held.length;
  const tripped =
    retirements > 0 &&
    (retirements > policy.maxRetirePerRun || retirements * 100 > policy.maxRetirePercent * ownedHosts);
  const state: CircuitBreakerState = {
    tripped,
    retirements,
    ownedHosts,
    maxPerRun: policy.maxRetirePerRun,
    maxPercent: policy.maxRetirePercent,
  };
  if (!tripped) return { actions: [...actions], findings: [], state, held: [] };
  const reason = `${retirements} retirements planned, over the limit of ${policy.maxRetirePerRun} or ${policy.maxRetirePercent}% of ${ownedHosts} owned hosts; nothing was retired`;
  return {
    actions: actions.filter((a) => !isRetire(a)),
    findings: [
      {
        detailType: 'Circuit Breaker Tripped',
        detail: {
          ...state,
          reason,
          hostIds: held.slice(0, 100).map((a) => a.hostId),
          hosts: held.slice(0, 100).map((a) => ({ hostId: a.hostId, hostName: a.hostName, instanceId: a.instanceId })),
        },
      },
    ],
    state,
    held: held.map((action) => ({ action, reason: `held by the circuit breaker: ${reason}` })),
  };
}
