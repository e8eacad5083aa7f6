import type { CheckStatus, ResolvedCheck } from './types';

export interface DampedState {
  status: CheckStatus;
  /** Consecutive results that disagree with `status`, by direction. */
  successes: number;
  failures: number;
}

/**
 * Flap damping: a check changes status only after `successBeforePassing` passing results in a row,
 * or `failuresBeforeCritical` non-passing results in a row (Consul's success_before_passing and
 * failures_before_critical). A result that agrees with the current status resets both counts.
 * Moving between warning and critical needs the failure count as well. TTL checks are not damped:
 * a missed heartbeat is already a long silence. Returns the new status.
 */
export function applyResult(
  state: DampedState,
  result: CheckStatus,
  check: Pick<ResolvedCheck, 'kind' | 'successBeforePassing' | 'failuresBeforeCritical'>,
): CheckStatus {
  if (check.kind === 'ttl' || result === state.status) {
    state.status = result;
    state.successes = 0;
    state.failures = 0;
    return state.status;
  }
  if (result === 'passing') {
    state.successes += 1;
    state.failures = 0;
    if (state.successes >= check.successBeforePassing) {
      state.status = 'passing';
      state.successes = 0;
    }
  } else {
    state.failures += 1;
    state.successes = 0;
    if (state.failures >= check.failuresBeforeCritical) {
      state.status = result;
      state.failures = 0;
    }
  }
  return state.status;
}
