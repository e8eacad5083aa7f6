import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { AuditRecord } from './audit-log';

export type AuthTransport = 'http' | 'ws';

export interface AuthThrottleOptions {
  /** Failures from one address within `windowMs` that start a block. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** The first block; each further block of the same address doubles it, up to `maxBlockMs`. */
  readonly baseBlockMs: number;
  readonly maxBlockMs: number;
  /** An address with no failure for this long starts again from the first block. */
  readonly forgetAfterMs: number;
  /** Addresses tracked at once; the oldest is forgotten beyond this, so a flood of sources cannot grow memory. */
  readonly maxAddresses: number;
}

export const defaultAuthThrottleOptions: AuthThrottleOptions = {
  maxFailures: 10,
  windowMs: 60_000,
  baseBlockMs: 60_000,
  maxBlockMs: 60 * 60_000,
  forgetAfterMs: 60 * 60_000,
  maxAddresses: 10_000,
};

interface AddressState {
  failures: number[];
  /** Blocks so far: the next lasts baseBlockMs × 2^blocks. */
  blocks: number;
  blockedUntil: number;
  lastFailure: number;
}

export interface AuthThrottleDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** One audit row per burst (when a block starts), not one per failure. */
  readonly audit: (record: AuditRecord) => void;
  readonly options?: Partial<AuthThrottleOptions>;
}

/**
 * Failed authentication per client address, for HTTP and the `/ws` upgrade alike: every failure is
 * logged at warn and counted; `maxFailures` within a minute block the address (429 with Retry-After)
 * for a minute, then two, four... Per node and in memory: a restart forgets, and each node of a
 * fleet counts its own (docs/fleet.md). Written here rather than with rate-limiter-flexible because
 * the back-off must follow the plane's clock, which tests move by hand.
 */
export class AuthThrottle {
  readonly options: AuthThrottleOptions;
  readonly #states = new Map<string, AddressState>();
  readonly #failures: Counter<'transport'>;
  readonly #throttled: Counter<'transport'>;

  constructor(private readonly deps: AuthThrottleDeps) {
    this.options = { ...defaultAuthThrottleOptions, ...deps.options };
    this.#failures = new Counter({
      name: 'pilothouse_auth_failures_total',
      help: 'Credentials presented and refused (unknown, wrong, expired or revoked), by transport',
      labelNames: ['transport'],
      registers: [deps.registry],
    });
    this.#throttled = new Counter({
      name: 'pilothouse_auth_throttled_total',
      help: 'Requests refused with PH_AUTH_THROTTLED because their address failed too often, by transport',
      labelNames: ['transport'],
      registers: [deps.registry],
    });
  }

  /** Seconds the address must wait, or null when it may try. Counts the refusal when it must wait. */
  retryAfterSeconds(address: string, transport: AuthTransport): number | null {
    const state = this.#states.get(address);
    const now = this.deps.clock.now();
    if (state === undefined || state.blockedUntil <= now) return null;
    this.#throttled.inc({ transport });
    return Math.max(1, Math.ceil((state.blockedUntil - now) / 1000));
  }

  failure(address: string, transport: AuthTransport, reason: string): void {
    const now = this.deps.clock.now();
    const { windowMs, maxFailures, forgetAfterMs } = this.options;
    let state = this.#states.get(address);
    if (state !== undefined && now - state.lastFailure > forgetAfterMs && state.blockedUntil <= now) state = undefined;
    if (state === undefined) {
      state = { failures: [], blocks: 0, blockedUntil: 0, lastFailure: now };
      this.#remember(address, state);
    }
    state.lastFailure = now;
    state.failures = state.failures.filter((at) => now - at < windowMs);
    state.failures.push(now);
    this.#failures.inc({ transport });
    this.deps.logger.warn({ address, transport, reason, recentFailures: state.failures.length }, 'authentication failed');
    if (state.failures.length < maxFailures) return;
    const blockMs = Math.min(this.options.maxBlockMs, this.options.baseBlockMs * 2 ** state.blocks);
    const count = state.failures.length;
    state.blocks += 1;
    state.blockedUntil = now + blockMs;
    state.failures = [];
    this.deps.logger.warn({ address, transport, failures: count, blockSeconds: blockMs / 1000 }, 'authentication throttled');
    this.deps.audit({
      actor: `address:${address}`,
      action: 'auth.throttled',
      target: address,
      outcome: 'error',
      detail: `${count} failed authentications within ${windowMs / 1000} s over ${transport}; blocked for ${blockMs / 1000} s`,
    });
  }

  #remember(address: string, state: AddressState): void {
    this.#states.delete(address);
    this.#states.set(address, state);
    if (this.#states.size <= this.options.maxAddresses) return;
    const now = this.deps.clock.now();
    // Forget the oldest address that is not blocked; a flood of new sources must not lift a block.
    for (const [oldest, s] of this.#states) {
      if (s.blockedUntil <= now) {
        this.#states.delete(oldest);
        return;
      }
    }
  }
}
