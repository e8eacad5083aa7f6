import type { WebSocket } from 'ws';
import type { Caller } from '../core';
import { closeCodes, type Lane } from '../../contract/realtime-frames';
import type { Corkable, CorkedWrites } from './corked-writes';
import { PendingGaps, gapFrame, type DroppedRange } from './pending-gaps';

interface Queued {
  data: Buffer;
  key: string;
  /** What shedding it loses: a room message's offset, or a queued gap frame's range (then `gap`). */
  range?: DroppedRange;
  gap?: true;
}

export interface SendOptions {
  lane: Lane;
  /** Low lane: replaces a queued frame with the same key. */
  key?: string;
  /** False for frames that must arrive (ack-required, replies): when they cannot, the connection is closed. */
  droppable?: boolean;
  /** Room messages: recorded as a gap when dropped. */
  room?: string;
  epoch?: string;
  offset?: number;
  /** Set on a room frame held during a replay that must be acknowledged. */
  ackMid?: string;
}

interface PendingAck {
  data: Buffer;
  lane: Lane;
  deadline: number;
  nextAt: number;
  attempts: number;
}

export interface ConnectionLimits {
  readonly maxBufferedBytes: number;
  readonly highWaterBytes: number;
  readonly ackRetryMs: number;
  readonly ackDeadlineMs: number;
}

/** A live room frame that arrived while the room's history was being replayed to this connection. */
export interface HeldFrame {
  readonly offset: number;
  readonly data: Buffer;
  readonly options: SendOptions;
}

/**
 * A room being replayed to this connection (a subscribe with `since`, or a live frame that showed
 * the connection missed some): live frames wait in `frames` until the replay has gone out. They are
 * bounded by the connection's byte cap; past it they are let go and `discardedUpTo` says how far
 * the replay must read to cover them.
 */
export interface Replay {
  readonly frames: HeldFrame[];
  bytes: number;
  discardedUpTo: number;
  /** Resolves when the replay has ended (a second subscribe to the room waits for it). */
  readonly finished: Promise<void>;
  readonly finish: () => void;
}

const TEXT = { binary: false } as const;
const LANE_ORDER: readonly Lane[] = ['high', 'normal', 'low'];

/**
 * One authenticated client: its lanes, its share of the outgoing buffer, the order of its inbound
 * frames, its unacknowledged messages and its heartbeat. Frames go straight to the socket while the
 * socket buffer is under the high-water mark; past it they queue per lane and drain high → normal →
 * low as the socket empties. Past the byte cap, queued low frames without a key are shed first; the
 * latest value per key gives way only to a normal or high frame; then new frames of the lower lanes
 * are dropped. Every room message shed or dropped is told in a `dropped` gap (one in place of each
 * run of shed messages, one pending per room for new ones dropped); a frame that may not be dropped
 * closes the connection, telling it to resume.
 */
export class Connection implements Corkable {
  readonly rooms = new Set<string>();
  /** Rooms being replayed: live frames wait here until the replay has gone out. */
  readonly replaying = new Map<string, Replay>();
  /**
   * The newest room offset this connection was given, per room: a live copy of a message the replay
   * already read from history (its pub/sub copy can arrive after the replay ends) is not sent twice.
   */
  readonly delivered = new Map<string, { epoch: string; offset: number }>();
  readonly #queues: Record<Lane, Queued[]> = { high: [], normal: [], low: [] };
  #queuedBytes = 0;
  #corkedBytes = 0;
  #waitingForDrain = false;
  #missedPings = 0;
  #closed = false;
  /** Inbound frames' rate-limit decisions, chained so that frames are handled in the order they came. */
  #inbound: Promise<unknown> = Promise.resolve();
  readonly #drainWaiters: (() => void)[] = [];
  readonly #pendingAcks = new Map<string, PendingAck>();
  readonly #gaps = new PendingGaps();
  readonly stats = { sent: 0, dropped: 0, coalesced: 0, retried: 0, ackExpired: 0, received: 0, rateLimited: 0 };
  /** The console events this connection asked for (`events` frame): all its role may see, some, or none. */
  consoleEvents: 'all' | ReadonlySet<string> = new Set();

  constructor(
    readonly ws: WebSocket,
    readonly caller: Caller,
    readonly session: string,
    readonly user: string,
    private readonly limits: ConnectionLimits,
    private readonly onOverflow: (connection: Connection) => void,
    /** The raw socket under `ws`, and the batcher that keeps it corked for the rest of this turn. */
    private readonly output: { socket: Corkable; writes: CorkedWrites } | null = null,
  ) {}

  follows(event: string): boolean {
    return this.consoleEvents === 'all' || this.consoleEvents.has(event);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes this connection holds: in the socket plus in its lanes. */
  get heldBytes(): number {
    return this.ws.bufferedAmount + this.#queuedBytes;
  }

  /**
   * Bytes the client has not taken yet: the socket's buffer less what this turn's cork holds back
   * on purpose (those go out at the end of the turn whatever the client does).
   */
  get #backlog(): number {
    return this.ws.bufferedAmount - this.#corkedBytes;
  }

  /** Called by the batcher at the end of the turn (or early, when a turn's writes pass the high-water mark). */
  uncork(): void {
    this.#corkedBytes = 0;
    this.output?.socket.uncork();
  }

  cork(): void {
    this.output?.socket.cork();
  }

  queueDepths(): Record<Lane, number> {
    return { high: this.#queues.high.length, normal: this.#queues.normal.length, low: this.#queues.low.length };
  }

  get pendingAckCount(): number {
    return this.#pendingAcks.size;
  }

  /** An inbound frame arrived: a sign of life. */
  received(): void {
    this.stats.received += 1;
    this.#missedPings = 0;
  }

  /**
   * Resolves with `decision` once every earlier inbound frame's decision has: a rate-limit answer
   * may come back from Redis out of order, and a connection's frames are handled in the order sent.
   */
  inOrder<T>(decision: Promise<T>): Promise<T> {
    const next = this.#inbound.then(() => decision);
    this.#inbound = next.catch(() => undefined);
    return next;
  }

  /**
   * Resolves once this connection holds nothing queued and less than the high-water mark in its
   * socket (or is closed): a producer that can wait, such as a replay, paces itself by it, so a
   * client that keeps reading is never pushed past its cap.
   */
  drained(): Promise<void> {
    if (this.#closed || this.#idle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#scheduleDrain();
    });
  }

  /**
   * Sends a frame, or queues it in its lane, or sheds it when the connection is over its cap. A room
   * frame first carries the room's pending `dropped` gap, and both must fit: a gap frame counts
   * against the cap like any other, and while they do not fit the gap only grows (one per room).
   */
  send(data: Buffer, options: SendOptions): void {
    if (this.#closed) return;
    const room = options.room;
    if (this.#idle()) {
      const gap = room === undefined ? null : this.#gaps.take(room);
      if (gap !== null) this.#write(gap.frame);
      this.#write(data);
      return;
    }
    // Shedding may widen this room's gap, so what must fit is counted again after each step.
    const fits = () => this.#fits(data.length + (room === undefined ? 0 : this.#gaps.bytes(room)) - this.#replaces(options));
    const mustArrive = options.lane === 'high' || options.droppable === false;
    if (!fits()) {
      this.#shedLow(false);
      if (!fits() && (options.lane !== 'low' || mustArrive)) this.#shedLow(true);
      if (!fits()) {
        if (mustArrive) {
          this.#overflow();
          return;
        }
        this.stats.dropped += 1;
        const range = rangeOf(options);
        if (range !== undefined) this.#gaps.record(range.room, range.epoch, range.from, range.to);
        return;
      }
    }
    const gap = room === undefined ? null : this.#gaps.take(room);
    if (gap !== null) this.#enqueue({ data: gap.frame, key: '', range: gap.range, gap: true }, options.lane);
    this.#enqueue({ data, key: options.key ?? '', range: rangeOf(options) }, options.lane);
    this.#scheduleDrain();
  }

  /** Sends a frame the client must acknowledge (by `mid`), and resends it until it does or the deadline passes. */
  sendWithAck(mid: string, data: Buffer, options: SendOptions, now: number): void {
    this.#pendingAcks.set(mid, {
      data,
      lane: options.lane,
      deadline: now + this.limits.ackDeadlineMs,
      nextAt: now + this.limits.ackRetryMs,
      attempts: 1,
    });
    this.send(data, { ...options, droppable: false });
  }

  ack(mid: string): boolean {
    return this.#pendingAcks.delete(mid);
  }

  /** Resends due unacknowledged messages; drops those past their deadline. */
  retryAcks(now: number): void {
    for (const [mid, pending] of this.#pendingAcks) {
      if (now >= pending.deadline) {
        this.#pendingAcks.delete(mid);
        this.stats.ackExpired += 1;
      } else if (now >= pending.nextAt) {
        pending.attempts += 1;
        pending.nextAt = now + this.limits.ackRetryMs * Math.min(8, 2 ** (pending.attempts - 1));
        this.stats.retried += 1;
        this.send(pending.data, { lane: pending.lane, droppable: false });
      }
    }
  }

  /** Called every ping interval: false once two pings went unanswered (the caller closes it). */
  heartbeat(): boolean {
    if (this.#missedPings >= 2) return false;
    this.#missedPings += 1;
    try {
      this.ws.ping();
    } catch {
      return false;
    }
    return true;
  }

  pong(): void {
    this.#missedPings = 0;
  }

  markClosed(): void {
    this.#closed = true;
    this.#queues.high.length = 0;
    this.#queues.normal.length = 0;
    this.#queues.low.length = 0;
    this.#queuedBytes = 0;
    this.#pendingAcks.clear();
    this.#gaps.clear();
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }

  #idle(): boolean {
    return this.#queuedBytes === 0 && this.#backlog < this.limits.highWaterBytes;
  }

  #fits(bytes: number): boolean {
    return this.#backlog + this.#queuedBytes + bytes <= this.limits.maxBufferedBytes;
  }

  #write(data: Buffer): void {
    this.stats.sent += 1;
    this.output?.writes.hold(this);
    if (!this.#waitingForDrain && this.#backlog + data.length >= this.limits.highWaterBytes) {
      this.#waitingForDrain = true;
      // ws has no 'drain' event of its own; a send callback fires once that frame is handed to the kernel.
      this.ws.send(data, TEXT, this.#onDrain);
    } else {
      this.ws.send(data, TEXT);
    }
    if (this.output === null) return;
    this.#corkedBytes += data.length;
    // A long burst in one turn goes out in high-water-sized writes rather than all at the end.
    if (this.#corkedBytes >= this.limits.highWaterBytes) this.output.writes.flush(this);
  }

  readonly #onDrain = (): void => {
    this.#waitingForDrain = false;
    this.#pump();
  };

  #scheduleDrain(): void {
    if (!this.#waitingForDrain) this.#pump();
  }

  #pump(): void {
    if (this.#closed) return;
    while (this.#queuedBytes > 0 && this.#backlog < this.limits.highWaterBytes) {
      const item = this.#dequeue();
      if (item === undefined) break;
      this.#write(item.data);
      if (this.#waitingForDrain) return;
    }
    // Drained: the gaps of rooms that have had no frame since they were recorded go out now.
    if (this.#idle())
      for (const room of this.#gaps.rooms()) {
        const gap = this.#gaps.take(room);
        if (gap !== null) this.#write(gap.frame);
      }
    if (this.#idle()) for (const wake of this.#drainWaiters.splice(0)) wake();
    // Still over the mark with nothing in flight to call us back: poll the socket shortly.
    if ((this.#queuedBytes > 0 || this.#drainWaiters.length > 0) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      setTimeout(this.#onDrain, 5).unref();
    }
  }

  #enqueue(item: Queued, lane: Lane): void {
    const queue = this.#queues[lane];
    if (lane === 'low' && item.key !== '') {
      const index = queue.findIndex((q) => q.key === item.key);
      if (index >= 0) {
        const old = queue[index] as Queued;
        this.#queuedBytes -= old.data.length;
        queue.splice(index, 1);
        this.stats.coalesced += 1;
      }
    }
    queue.push(item);
    this.#queuedBytes += item.data.length;
  }

  /** The bytes a low frame with a key frees by replacing the queued one with its key. */
  #replaces(options: SendOptions): number {
    if (options.lane !== 'low' || options.key === undefined || options.key === '') return 0;
    return this.#queues.low.find((q) => q.key === options.key)?.data.length ?? 0;
  }

  #dequeue(): Queued | undefined {
    for (const lane of LANE_ORDER) {
      const item = this.#queues[lane].shift();
      if (item !== undefined) {
        this.#queuedBytes -= item.data.length;
        return item;
      }
    }
    return undefined;
  }

  /**
   * Sheds queued low frames: those without a key, or (`keyed`) all of them, the latest value per key
   * included. Each run of a room's messages shed with none of the room's kept messages between
   * becomes one `dropped` gap frame in its place, so the reader is told in order. A gap frame an
   * earlier shedding left joins the run it borders: a reader stalled through many is told once.
   */
  #shedLow(keyed: boolean): void {
    const kept: Queued[] = [];
    const runs = new Map<string, Queued & { range: DroppedRange }>();
    for (const item of this.#queues.low) {
      const room = item.range?.room;
      if (!keyed && item.key !== '') {
        if (room !== undefined) runs.delete(room);
        kept.push(item);
        continue;
      }
      this.#queuedBytes -= item.data.length;
      if (item.gap !== true) this.stats.dropped += 1;
      if (item.range === undefined) continue;
      const run = runs.get(item.range.room);
      if (run === undefined || run.range.epoch !== item.range.epoch) {
        const gap = { data: gapFrame(item.range), key: '', range: item.range, gap: true as const };
        this.#queuedBytes += gap.data.length;
        runs.set(item.range.room, gap);
        kept.push(gap);
        continue;
      }
      this.#queuedBytes -= run.data.length;
      run.range = { ...run.range, to: item.range.to };
      run.data = gapFrame(run.range);
      this.#queuedBytes += run.data.length;
    }
    this.#queues.low = kept;
  }

  #overflow(): void {
    if (this.#closed) return;
    this.markClosed();
    this.onOverflow(this);
    try {
      this.ws.close(closeCodes.overflow, 'overflow: reconnect and resume');
    } catch {
      // already closing
    }
    // The close frame waits behind a full buffer; do not hold its memory for long.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }
}

/** The offset a room message covers, for the gap that tells its loss. */
function rangeOf(options: SendOptions): DroppedRange | undefined {
  const { room, epoch, offset } = options;
  return room === undefined || epoch === undefined || offset === undefined ? undefined : { room, epoch, from: offset, to: offset };
}
