import { build, type Histogram } from 'hdr-histogram-js';
import { systemClock, type Clock } from '../clock';

export interface TimingOptions {
  /** Length of the sliding window, split into `windowSlots` slots that rotate out one at a time. */
  readonly windowMs: number;
  readonly windowSlots: number;
  /** Slow-call threshold for names without their own. */
  readonly defaultSlowMs: number;
  /** How many slow calls the log keeps (newest first, oldest dropped). */
  readonly slowLogSize: number;
}

export const defaultTimingOptions: TimingOptions = { windowMs: 300_000, windowSlots: 5, defaultSlowMs: 250, slowLogSize: 200 };

export interface OperationStats {
  name: string;
  count: number;
  errors: number;
  errorRatio: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  stddevMs: number;
  minMs: number;
  maxMs: number;
  slowMs: number;
  slowCalls: number;
}

export interface SlowCall {
  name: string;
  at: string;
  durationMs: number;
  thresholdMs: number;
  ok: boolean;
  code: string | null;
}

export type TimingScope = 'window' | 'total';

/** `performance.timeOrigin` is a getter that costs nearly a clock read; it never changes, so read it once. */
const TIME_ORIGIN = performance.timeOrigin;
/** Durations are kept in microseconds, 1 µs to 1 h, to 2 significant digits (1% error). */
const HIGHEST_US = 3_600_000_000;
/** Slots take every write: flat 32-bit counts (14 KiB each), the fastest to record into. */
const newHistogram = (): Histogram =>
  build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 2,
    bitBucketSize: 32,
    autoResize: false,
  });
/** Totals are only added to when a slot retires: packed counts, a few hundred bytes for most names. */
const newPackedHistogram = (): Histogram =>
  build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 2,
    bitBucketSize: 'packed',
    autoResize: false,
  });

interface Slot {
  /** Which slot period this holds (floor(now / slotMs)); -1 when empty. */
  period: number;
  histogram: Histogram | null;
  errors: number;
  slow: number;
}

/**
 * One operation's numbers. The hot path records each call into the current window slot only; a slot
 * is folded into the since-start totals when it rotates out, so a call costs one histogram write.
 */
class OperationTimer {
  readonly slots: Slot[];
  readonly total: Histogram = newPackedHistogram();
  totalErrors = 0;
  totalSlow = 0;
  slowMs: number | null = null;
  lastCode: string | null = null;

  constructor(
    readonly name: string,
    slotCount: number,
  ) {
    this.slots = Array.from({ length: slotCount }, () => ({ period: -1, histogram: null, errors: 0, slow: 0 }));
  }

  slotFor(period: number): Slot {
    const slot = this.slots[period % this.slots.length] as Slot;
    if (slot.period !== period) {
      this.#retire(slot);
      slot.period = period;
    }
    return slot;
  }

  /** Folds slots older than the window into the totals so they stop counting as recent. */
  expire(currentPeriod: number): void {
    for (const slot of this.slots) {
      if (slot.period !== -1 && slot.period <= currentPeriod - this.slots.length) {
        this.#retire(slot);
        slot.period = -1;
      }
    }
  }

  #retire(slot: Slot): void {
    if (slot.histogram !== null) {
      if (slot.histogram.totalCount > 0) this.total.add(slot.histogram);
      // Dropped, not reset: a name that goes quiet keeps only its small packed total.
      slot.histogram.destroy();
      slot.histogram = null;
    }
    this.totalErrors += slot.errors;
    this.totalSlow += slot.slow;
    slot.errors = 0;
    slot.slow = 0;
  }
}

/**
 * Times operations: count, errors, mean, p50/p95/p99, standard deviation, min and max, over a
 * sliding window and since start, from HDR histograms (hdr-histogram-js). Calls slower than their
 * threshold go to a bounded log. `time()` wraps a function; `record()` is the function form for
 * code that measured the duration itself (the dispatcher's observer, the HTTP hooks).
 */
export class OperationTimings {
  readonly options: TimingOptions;
  readonly #timers = new Map<string, OperationTimer>();
  readonly #slowLog: SlowCall[] = [];
  readonly #slotMs: number;
  readonly #listeners = new Set<(call: SlowCall) => void>();
  readonly #fastWall: boolean;

  constructor(
    private readonly clock: Clock,
    options: Partial<TimingOptions> = {},
  ) {
    this.options = { ...defaultTimingOptions, ...options };
    this.#fastWall = clock === systemClock;
    this.#slotMs = Math.max(1, Math.floor(this.options.windowMs / this.options.windowSlots));
  }

  /** Records one finished call. `durationMs` may be fractional. */
  record(name: string, durationMs: number, ok: boolean, code?: string, now: number = this.clock.now()): void {
    this.#recordAt(name, durationMs, ok, code, now);
  }

  /**
   * With the system clock, the call's end timestamp (performance.now) doubles as the wall time, so
   * `time()` reads the clock twice per call rather than three times: on a busy VM one read costs
   * 100-300 ns, more than the rest of the bookkeeping.
   */
  #wallAt(endPerf: number): number {
    return this.#fastWall ? TIME_ORIGIN + endPerf : this.clock.now();
  }

  #recordAt(name: string, durationMs: number, ok: boolean, code: string | undefined, now: number): void {
    let timer = this.#timers.get(name);
    if (timer === undefined) {
      timer = new OperationTimer(name, this.options.windowSlots);
      this.#timers.set(name, timer);
    }
    const slot = timer.slotFor(Math.floor(now / this.#slotMs));
    slot.histogram ??= newHistogram();
    const us = Math.round(durationMs * 1000);
    slot.histogram.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
    if (!ok) {
      slot.errors += 1;
      timer.lastCode = code ?? null;
    }
    const threshold = timer.slowMs ?? this.options.defaultSlowMs;
    if (durationMs >= threshold) {
      slot.slow += 1;
      this.#logSlow({ name, at: new Date(now).toISOString(), durationMs, thresholdMs: threshold, ok, code: ok ? null : (code ?? null) });
    }
  }

  /** Runs `fn` and records its duration and outcome under `name`; sync results stay sync. */
  time<T>(name: string, fn: () => T): T {
    const started = performance.now();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      const end = performance.now();
      this.#recordAt(name, end - started, false, codeOf(err), this.#wallAt(end));
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          const end = performance.now();
          this.#recordAt(name, end - started, true, undefined, this.#wallAt(end));
          return value;
        },
        (err: unknown) => {
          const end = performance.now();
          this.#recordAt(name, end - started, false, codeOf(err), this.#wallAt(end));
          throw err;
        },
      ) as T;
    }
    const end = performance.now();
    this.#recordAt(name, end - started, true, undefined, this.#wallAt(end));
    return result;
  }

  /** Wraps a function so every call is timed under `name`. */
  wrap<A extends unknown[], R>(name: string, fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => this.time(name, () => fn(...args));
  }

  setThreshold(name: string, slowMs: number | null): number {
    let timer = this.#timers.get(name);
    if (timer === undefined) {
      timer = new OperationTimer(name, this.options.windowSlots);
      this.#timers.set(name, timer);
    }
    timer.slowMs = slowMs;
    return slowMs ?? this.options.defaultSlowMs;
  }

  thresholdOf(name: string): number {
    return this.#timers.get(name)?.slowMs ?? this.options.defaultSlowMs;
  }

  /** Called when a slow call is logged (the monitoring service turns it into a counter). */
  onSlowCall(listener: (call: SlowCall) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every timed name with at least one call in the scope, sorted by name. */
  stats(scope: TimingScope = 'window'): OperationStats[] {
    const period = Math.floor(this.clock.now() / this.#slotMs);
    const out: OperationStats[] = [];
    for (const timer of this.#timers.values()) {
      timer.expire(period);
      const s = this.#statsOf(timer, scope);
      if (s.count > 0) out.push(s);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  statsOf(name: string, scope: TimingScope = 'window'): OperationStats | null {
    const timer = this.#timers.get(name);
    if (timer === undefined) return null;
    timer.expire(Math.floor(this.clock.now() / this.#slotMs));
    return this.#statsOf(timer, scope);
  }

  /**
   * Every call recorded since start under the names starting with `prefix`, merged into one new
   * histogram of microseconds (the caller destroys it). Counts only grow, so the difference of two
   * of these is what was recorded in between: the monitoring tick takes its interval latency from it
   * rather than recording every request into a second histogram.
   */
  cumulative(prefix: string): Histogram {
    const merged = newHistogram();
    for (const timer of this.#timers.values()) {
      if (!timer.name.startsWith(prefix)) continue;
      for (const slot of timer.slots) if (slot.period !== -1 && slot.histogram !== null) merged.add(slot.histogram);
      merged.add(timer.total);
    }
    return merged;
  }

  slowLog(limit = this.options.slowLogSize): SlowCall[] {
    return this.#slowLog.slice(0, limit);
  }

  get windowSeconds(): number {
    return Math.round((this.#slotMs * this.options.windowSlots) / 1000);
  }

  #statsOf(timer: OperationTimer, scope: TimingScope): OperationStats {
    const merged = newHistogram();
    let errors = 0;
    let slow = 0;
    for (const slot of timer.slots) {
      if (slot.period === -1) continue;
      if (slot.histogram !== null) merged.add(slot.histogram);
      errors += slot.errors;
      slow += slot.slow;
    }
    if (scope === 'total') {
      merged.add(timer.total);
      errors += timer.totalErrors;
      slow += timer.totalSlow;
    }
    const count = merged.totalCount;
    const ms = (us: number) => Math.round(us) / 1000;
    const stats: OperationStats = {
      name: timer.name,
      count,
      errors,
      errorRatio: count === 0 ? 0 : errors / count,
      meanMs: count === 0 ? 0 : ms(merged.mean),
      p50Ms: count === 0 ? 0 : ms(merged.getValueAtPercentile(50)),
      p95Ms: count === 0 ? 0 : ms(merged.getValueAtPercentile(95)),
      p99Ms: count === 0 ? 0 : ms(merged.getValueAtPercentile(99)),
      stddevMs: count === 0 ? 0 : ms(merged.stdDeviation),
      minMs: count === 0 ? 0 : ms(merged.minNonZeroValue),
      maxMs: count === 0 ? 0 : ms(merged.maxValue),
      slowMs: timer.slowMs ?? this.options.defaultSlowMs,
      slowCalls: slow,
    };
    merged.destroy();
    return stats;
  }

  #logSlow(call: SlowCall): void {
    this.#slowLog.unshift(call);
    if (this.#slowLog.length > this.options.slowLogSize) this.#slowLog.length = this.options.slowLogSize;
    for (const listener of this.#listeners) listener(call);
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'PH_INTERNAL';
}

/** The top `n` by a figure, highest first, ignoring names with nothing to show. */
export function topBy(stats: readonly OperationStats[], key: 'p99Ms' | 'count' | 'errors', n = 5): OperationStats[] {
  return stats
    .filter((s) => s[key] > 0)
    .sort((a, b) => b[key] - a[key] || a.name.localeCompare(b.name))
    .slice(0, n);
}
