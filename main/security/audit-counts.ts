import type { Clock } from '../clock';
import type { AuditRecord, CallCounter, CountedCall } from '../core';
import type { Service, ServiceState } from '../service';

/** The window one audit row of counted calls covers. */
export const COUNT_WINDOW_MS = 60_000;

interface Tally {
  readonly window: number;
  readonly actor: string;
  readonly action: string;
  readonly outcome: 'ok' | 'error';
  count: number;
  /** Failed calls by error code. */
  readonly codes: Map<string, number>;
}

/** What the `detail` of a row of counted calls holds (JSON). */
export interface CountedDetail {
  readonly counted: number;
  readonly from: string;
  readonly to: string;
  readonly codes?: Record<string, number>;
}

/**
 * The audit log's side of `counted` operations (cache writes, job enqueues, publishes): calls are
 * tallied in memory per actor, operation, outcome and minute, and each minute that ended is written
 * as one audit row whose detail carries the count (and the error codes of failed calls). The
 * tallies are written on a timer and, all of them, the current minute's too, at stop, so a SIGTERM
 * loses no call; a kill -9 loses at most the calls of the last flush interval.
 */
export class AuditCounts implements Service, CallCounter {
  readonly name = 'audit-counts';
  readonly #tallies = new Map<string, Tally>();
  #timer: NodeJS.Timeout | null = null;
  #state: ServiceState = 'idle';
  #failure: string | null = null;

  constructor(
    private readonly append: (record: AuditRecord) => unknown,
    private readonly clock: Clock,
    private readonly flushEveryMs = 5_000,
  ) {}

  count(call: CountedCall): void {
    const now = this.clock.now();
    const window = now - (now % COUNT_WINDOW_MS);
    const id = `${window}\u0000${call.actor}\u0000${call.action}\u0000${call.outcome}`;
    let tally = this.#tallies.get(id);
    if (tally === undefined) {
      tally = { window, actor: call.actor, action: call.action, outcome: call.outcome, count: 0, codes: new Map() };
      this.#tallies.set(id, tally);
    }
    tally.count += 1;
    if (call.code != null) tally.codes.set(call.code, (tally.codes.get(call.code) ?? 0) + 1);
  }

  /** Writes the tallies of the minutes that ended (every tally with `all`); returns the rows written. */
  flush(all = false): number {
    const now = this.clock.now();
    const current = now - (now % COUNT_WINDOW_MS);
    const due = [...this.#tallies.entries()].filter(([, t]) => all || t.window < current).sort(([, a], [, b]) => a.window - b.window);
    for (const [id, tally] of due) {
      const detail: CountedDetail = {
        counted: tally.count,
        from: new Date(tally.window).toISOString(),
        to: new Date(tally.window + COUNT_WINDOW_MS).toISOString(),
        ...(tally.codes.size === 0 ? {} : { codes: Object.fromEntries(tally.codes) }),
      };
      this.append({ actor: tally.actor, action: tally.action, target: null, outcome: tally.outcome, detail: JSON.stringify(detail) });
      // Deleted only once written: a failed append leaves the tally for the next flush.
      this.#tallies.delete(id);
    }
    return due.length;
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => this.#flushSafely(false), this.flushEveryMs);
    this.#timer.unref();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#flushSafely(true);
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state === 'running' && this.#failure !== null)
      return { state: 'degraded', detail: `counted calls not audited: ${this.#failure}` };
    return { state: this.#state };
  }

  #flushSafely(all: boolean): void {
    try {
      this.flush(all);
      this.#failure = null;
    } catch (err) {
      this.#failure = (err as { code?: string }).code ?? 'error';
    }
  }
}
