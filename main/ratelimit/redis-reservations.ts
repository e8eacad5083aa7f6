import type { Redis } from 'ioredis';
import { BURST_WINDOWS } from './decision';
import type { RateTier } from './tier-store';

/** What one reservation got from the fleet budget. */
export interface Grant {
  /** Requests granted to this node (from the main window first, then the burst); 0 when both are spent. */
  readonly granted: number;
  /** The main window's fleet-wide count after this grant. */
  readonly mainUsed: number;
  readonly mainTtlMs: number;
  /** -1 when the tier has no burst. */
  readonly burstTtlMs: number;
}

/**
 * Takes up to `want` from one fixed-window counter holding at most `cap`, atomically; the window
 * starts with the first grant. Returns what it took and the window's time left.
 */
const RESERVE = `
local function take(key, cap, ms, want)
  local used = tonumber(redis.call('GET', key) or '0')
  local n = math.min(want, cap - used)
  if n > 0 then used = redis.call('INCRBY', key, n) else n = 0 end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 and used > 0 then
    redis.call('PEXPIRE', key, ms)
    ttl = ms
  end
  return n, used, ttl
end
local want = tonumber(ARGV[5])
local got, used, ttl = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), want)
local burstGot, burstTtl = 0, -1
if got < want and tonumber(ARGV[3]) > 0 then
  local _
  burstGot, _, burstTtl = take(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), want - got)
end
if ttl < 0 then ttl = tonumber(ARGV[2]) end
return {got + burstGot, used, ttl, burstTtl}
`;

type WithReserve = Redis & {
  phRateReserve(main: string, burst: string, ...args: number[]): Promise<[number, number, number, number]>;
};

/**
 * The fleet budget in Redis: a reservation takes several requests of a key's window at once, so a
 * node asks Redis once per batch rather than once per request. Keys are
 * `ph:rl:<tier>:{<subject>}` and `ph:rl:<tier>:burst:{<subject>}` (one hash slot per subject, for
 * Cluster), and expire with their window.
 */
export class RedisReservations {
  readonly #redis: WithReserve;

  constructor(
    redis: Redis,
    private readonly timeoutMs: number,
  ) {
    redis.defineCommand('phRateReserve', { numberOfKeys: 2, lua: RESERVE });
    this.#redis = redis as WithReserve;
  }

  get ready(): boolean {
    return this.#redis.status === 'ready';
  }

  /** Rejects when Redis errs or does not answer within the timeout (a frozen server still looks connected). */
  reserve(tier: RateTier, subject: string, want: number): Promise<Grant> {
    const windowMs = tier.windowSeconds * 1000;
    const call = this.#redis
      .phRateReserve(mainKey(tier, subject), burstKey(tier, subject), tier.limit ?? 0, windowMs, tier.burst, windowMs * BURST_WINDOWS, want)
      .then(([granted, mainUsed, mainTtlMs, burstTtlMs]) => ({ granted, mainUsed, mainTtlMs, burstTtlMs }));
    return this.#inTime(call);
  }

  /** The main window's fleet-wide count and time left, without taking anything. */
  async peek(tier: RateTier, subject: string): Promise<{ used: number; resetMs: number }> {
    const key = mainKey(tier, subject);
    const [used, ttl] = await this.#inTime(Promise.all([this.#redis.get(key), this.#redis.pttl(key)]));
    return { used: Number(used ?? 0), resetMs: Math.max(0, ttl) };
  }

  #inTime<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([call, late]).finally(() => clearTimeout(timer));
  }
}

const mainKey = (tier: RateTier, subject: string): string => `ph:rl:${tier.name}:{${subject}}`;
const burstKey = (tier: RateTier, subject: string): string => `ph:rl:${tier.name}:burst:{${subject}}`;
