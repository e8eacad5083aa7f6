import type { Logger } from '../logger';
import { parseBusMessage, type BusMessage, type RedisTier } from './redis-tier';

export interface BusHandlers {
  /** Another node changed or dropped something: drop our local copies (L1, L3). */
  apply(message: BusMessage): void;
  /** We may have missed messages for this namespace: drop everything local in it. */
  resync(ns: string, reason: string): void;
}

const OUTBOX_KEYS_PER_NAMESPACE = 10_000;

/**
 * The receiving side of the invalidation bus, and what keeps a node right when the bus fails.
 *
 * Every change bumps a per-namespace generation in Redis in the same script that publishes it, so
 * generations arrive in order. A node tracks the last generation it saw per namespace:
 * - the next one (+1) is applied as usual;
 * - a jump means messages were lost: the namespace is dropped locally;
 * - a lower one means Redis lost its data (restarted): dropped too.
 * After the subscription comes back, and every `reconcileIntervalMs`, the node compares its
 * generations with Redis's. Changes a node made while Redis was unreachable wait in an outbox and
 * are sent when it is back (a namespace whose outbox overflowed is cleared everywhere).
 */
export class InvalidationBus {
  readonly #seen = new Map<string, number>();
  /** Generations Redis was ahead by at the last periodic check (two checks in a row = a real gap). */
  readonly #suspect = new Map<string, number>();
  readonly #outboxKeys = new Map<string, Set<string>>();
  readonly #outboxTags = new Map<string, Set<string>>();
  readonly #outboxClear = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #lostSubscription = false;
  #flushing: Promise<void> | null = null;
  #stopped = false;
  received = 0;
  resyncs = 0;
  gaps = 0;

  constructor(
    private readonly l2: RedisTier,
    private readonly nodeId: string,
    private readonly handlers: BusHandlers,
    private readonly logger: Logger,
    private readonly reconcileIntervalMs: number,
    initial: ReadonlyMap<string, number>,
  ) {
    for (const [ns, g] of initial) this.#seen.set(ns, g);
  }

  get generations(): ReadonlyMap<string, number> {
    return this.#seen;
  }

  get outboxSize(): number {
    let n = this.#outboxClear.size;
    for (const s of this.#outboxKeys.values()) n += s.size;
    for (const s of this.#outboxTags.values()) n += s.size;
    return n;
  }

  async start(): Promise<void> {
    const sub = this.l2.link.sub;
    sub.on('message', (channel: string, raw: string) => {
      if (channel === this.l2.channel) this.#onMessage(raw);
    });
    sub.on('close', () => {
      if (!this.#stopped) this.#lostSubscription = true;
    });
    sub.on('ready', () => {
      if (this.#lostSubscription) {
        this.#lostSubscription = false;
        // ioredis resubscribes on reconnect; messages sent while we were away are gone, so compare.
        void this.reconcile(true);
      }
    });
    this.l2.link.onState((state) => {
      if (state === 'up') void this.flushOutbox().then(() => this.reconcile(false));
    });
    try {
      if (sub.status === 'ready') await sub.subscribe(this.l2.channel);
      else void sub.subscribe(this.l2.channel).catch(() => undefined); // queued until it connects
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cache bus subscribe failed; retrying on reconnect');
    }
    await this.reconcile(true);
    this.#timer = setInterval(() => {
      void this.flushOutbox().then(() => this.reconcile(false));
    }, this.reconcileIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Remember a change Redis could not take, to send when it is back. */
  queue(ns: string, change: { keys?: readonly string[]; tags?: readonly string[]; clear?: boolean }): void {
    if (change.clear === true) {
      this.#outboxClear.add(ns);
      this.#outboxKeys.delete(ns);
      this.#outboxTags.delete(ns);
      return;
    }
    if (this.#outboxClear.has(ns)) return;
    if (change.keys !== undefined) {
      const set = this.#outboxKeys.get(ns) ?? new Set<string>();
      for (const k of change.keys) set.add(k);
      this.#outboxKeys.set(ns, set);
      if (set.size > OUTBOX_KEYS_PER_NAMESPACE) this.queue(ns, { clear: true });
    }
    if (change.tags !== undefined) {
      const set = this.#outboxTags.get(ns) ?? new Set<string>();
      for (const t of change.tags) set.add(t);
      this.#outboxTags.set(ns, set);
    }
  }

  /** Sends what waited while Redis was away. Stops at the first failure and keeps the rest. */
  flushOutbox(): Promise<void> {
    if (this.#flushing !== null) return this.#flushing;
    if (this.outboxSize === 0 || !this.l2.link.available) return Promise.resolve();
    this.#flushing = (async () => {
      try {
        for (const ns of [...this.#outboxClear]) {
          await this.l2.clear(ns);
          this.#outboxClear.delete(ns);
        }
        for (const [ns, keys] of [...this.#outboxKeys]) {
          const list = [...keys];
          for (let i = 0; i < list.length; i += 500) await this.l2.delete(ns, list.slice(i, i + 500));
          this.#outboxKeys.delete(ns);
        }
        for (const [ns, tags] of [...this.#outboxTags]) {
          await this.l2.deleteTags(ns, [...tags]);
          this.#outboxTags.delete(ns);
        }
      } catch (err) {
        this.logger.debug({ err: (err as Error).message }, 'cache outbox flush interrupted; will retry');
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  /**
   * Compares our generations with Redis's. `strict` (after a lost subscription, at start) drops
   * every namespace that differs; otherwise a namespace must be behind on two checks in a row
   * (a message may simply be in flight).
   */
  async reconcile(strict: boolean): Promise<void> {
    if (!this.l2.link.available || this.#stopped) return;
    let remote: Map<string, number>;
    try {
      remote = await this.l2.generations();
    } catch {
      return;
    }
    const names = new Set([...remote.keys(), ...this.#seen.keys()]);
    for (const ns of names) {
      const r = remote.get(ns) ?? 0;
      const s = this.#seen.get(ns) ?? 0;
      if (r === s) {
        this.#suspect.delete(ns);
        continue;
      }
      if (r < s || strict) {
        this.#resync(ns, r, r < s ? 'redis lost its generations' : 'generations differ after reconnect');
        continue;
      }
      const before = this.#suspect.get(ns);
      if (before !== undefined && s < before) this.#resync(ns, r, 'missed bus messages');
      else this.#suspect.set(ns, r);
    }
  }

  #onMessage(raw: string): void {
    const parsed = parseBusMessage(raw);
    if (parsed === null) return;
    this.received += 1;
    const { generation, message } = parsed;
    const before = this.#seen.get(message.ns);
    if (before !== undefined && generation !== before + 1) {
      this.gaps += 1;
      this.#resync(message.ns, generation, generation > before ? 'gap in bus generations' : 'redis generations went back');
      return;
    }
    this.#seen.set(message.ns, generation);
    if (message.origin !== this.nodeId) this.handlers.apply(message);
  }

  #resync(ns: string, generation: number, reason: string): void {
    this.resyncs += 1;
    this.#seen.set(ns, generation);
    this.#suspect.delete(ns);
    this.logger.info({ ns, reason }, 'cache namespace resynchronised');
    this.handlers.resync(ns, reason);
  }
}
