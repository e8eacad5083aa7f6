import type { Logger } from '../logger';
import type { BusMessage, RedisTier } from './redis-tier';

export interface BusHandlers {
  /** Another node changed or dropped something: drop our local copies (L1, L3). */
  apply(message: BusMessage): void;
  /** We may have missed messages for this namespace: drop everything local in it. */
  resync(ns: string, reason: string): void;
  /** Redis lost its data: generations from before mean nothing; drop everything local. */
  resyncAll(reason: string): void;
}

/** The row under which the Redis epoch is kept beside the generations (not a valid namespace name). */
export const EPOCH_ROW = '\u0000epoch';

const OUTBOX_KEYS_PER_NAMESPACE = 10_000;

/**
 * The receiving side of the invalidation bus, and what keeps a node right when the bus fails.
 *
 * Every change bumps a per-namespace generation in Redis in the same script that publishes it, so
 * generations arrive in order. A node tracks the last generation it saw per namespace:
 * - the next one (+1) is applied as usual;
 * - a jump means messages were lost: the namespace is dropped locally.
 * After the subscription comes back, and every `reconcileIntervalMs`, the node publishes a marker:
 * a snapshot of every generation sent through the bus itself, so when it arrives every earlier
 * message has too, and any namespace whose generation differs from what the node saw has lost
 * messages (no race with messages in flight). A Redis that lost its data has a new epoch: every
 * namespace is dropped. Changes a node made while Redis was unreachable wait in an outbox and
 * are sent when it is back (a namespace whose outbox overflowed is cleared everywhere).
 */
export class InvalidationBus {
  readonly #seen = new Map<string, number>();
  readonly #outboxKeys = new Map<string, Set<string>>();
  readonly #outboxTags = new Map<string, Set<string>>();
  readonly #outboxClear = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #epoch: number | undefined;
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
    for (const [ns, g] of initial) {
      if (ns === EPOCH_ROW) this.#epoch = g;
      else this.#seen.set(ns, g);
    }
  }

  /** Generations seen per namespace, plus the epoch, to persist across restarts. */
  get generations(): ReadonlyMap<string, number> {
    const out = new Map(this.#seen);
    if (this.#epoch !== undefined) out.set(EPOCH_ROW, this.#epoch);
    return out;
  }

  get outboxSize(): number {
    let n = this.#outboxClear.size;
    for (const s of this.#outboxKeys.values()) n += s.size;
    for (const s of this.#outboxTags.values()) n += s.size;
    return n;
  }

  async start(): Promise<void> {
    const sub = this.l2.link.bus.client;
    sub.on('message', (channel: string, raw: string) => {
      if (channel === this.l2.channel) this.#onMessage(raw);
    });
    sub.on('close', () => {
      if (!this.#stopped) this.#lostSubscription = true;
    });
    sub.on('ready', () => {
      if (this.#lostSubscription) {
        this.#lostSubscription = false;
        // The subscriber resubscribes on reconnect; messages sent while we were away are gone, so compare.
        void this.reconcile();
      }
    });
    this.l2.link.onState((state) => {
      if (state === 'up') void this.flushOutbox().then(() => this.reconcile());
    });
    try {
      if (sub.status === 'ready') await this.l2.link.bus.subscribeAtStart(this.l2.channel);
      else void this.l2.link.bus.subscribe(this.l2.channel).catch(() => undefined); // queued until it connects
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cache bus subscribe failed; retrying on reconnect');
    }
    await this.reconcile();
    this.#timer = setInterval(() => {
      void this.flushOutbox().then(() => this.reconcile());
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

  /** A write of `key` reached Redis: a drop of it still waiting is older, and would drop the new value. */
  settled(ns: string, key: string): void {
    const keys = this.#outboxKeys.get(ns);
    keys?.delete(key);
    if (keys?.size === 0) this.#outboxKeys.delete(ns);
  }

  /**
   * Sends what waited while Redis was away. Stops at the first failure and keeps the rest. Each
   * drop sent is applied here again as well: the bus does not bring a node its own messages, and a
   * write refused as unshared may have reached Redis after all and been read back into this node's
   * L1 since (it served the value on until its ttl while every other node had dropped it).
   */
  flushOutbox(): Promise<void> {
    if (this.#flushing !== null) return this.#flushing;
    if (this.outboxSize === 0 || !this.l2.link.available) return Promise.resolve();
    this.#flushing = (async () => {
      try {
        const own = (body: Omit<BusMessage, 'origin'>): void => this.handlers.apply({ origin: this.nodeId, ...body });
        for (const ns of [...this.#outboxClear]) {
          await this.l2.clear(ns);
          this.#outboxClear.delete(ns);
          own({ ns, op: 'clear' });
        }
        for (const [ns, keys] of [...this.#outboxKeys]) {
          const list = [...keys];
          for (let i = 0; i < list.length; i += 500) await this.l2.delete(ns, list.slice(i, i + 500));
          if (this.#outboxKeys.get(ns) === keys) this.#outboxKeys.delete(ns);
          own({ ns, op: 'del', keys: list });
        }
        for (const [ns, tags] of [...this.#outboxTags]) {
          const dropped = await this.l2.deleteTags(ns, [...tags]);
          this.#outboxTags.delete(ns);
          own({ ns, op: 'tag', tags: [...tags] });
          if (dropped.keys.length > 0) own({ ns, op: 'del', keys: dropped.keys });
        }
      } catch (err) {
        this.logger.debug({ err: (err as Error).message }, 'cache outbox flush interrupted; will retry');
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  /** Checks Redis's epoch, then asks for a marker; the comparison happens when it arrives. */
  async reconcile(): Promise<void> {
    if (!this.l2.link.available || this.#stopped) return;
    try {
      const epoch = await this.l2.epoch();
      if (this.#epoch !== undefined && epoch !== this.#epoch) {
        this.resyncs += 1;
        this.#seen.clear();
        this.logger.info('cache resynchronised: Redis lost its data');
        this.handlers.resyncAll('redis lost its data');
      }
      this.#epoch = epoch;
      await this.l2.publishMarker();
    } catch {
      // Redis went away again; the next check or reconnect tries again.
    }
  }

  #onMarker(remote: ReadonlyMap<string, number>): void {
    for (const ns of new Set([...remote.keys(), ...this.#seen.keys()])) {
      const r = remote.get(ns) ?? 0;
      if (r !== (this.#seen.get(ns) ?? 0)) this.#resync(ns, r, 'missed bus messages');
    }
  }

  #onMessage(raw: string): void {
    const marker = this.l2.parseMarker(raw);
    if (marker !== null) {
      this.#onMarker(marker);
      return;
    }
    const parsed = this.l2.parseBusMessage(raw);
    if (parsed === null) return;
    this.received += 1;
    const { generation, message } = parsed;
    const before = this.#seen.get(message.ns);
    if (before !== undefined && generation > before + 1) {
      this.gaps += 1;
      this.#resync(message.ns, generation, 'gap in bus generations');
      return;
    }
    if (before !== undefined && generation <= before) {
      // Older than what we know (we resynchronised past it): its drops are still safe to apply.
      if (message.origin !== this.nodeId) this.handlers.apply(message);
      return;
    }
    this.#seen.set(message.ns, generation);
    if (message.origin !== this.nodeId) this.handlers.apply(message);
  }

  #resync(ns: string, generation: number, reason: string): void {
    this.resyncs += 1;
    this.#seen.set(ns, generation);
    this.logger.info({ ns, reason }, 'cache namespace resynchronised');
    this.handlers.resync(ns, reason);
  }
}
