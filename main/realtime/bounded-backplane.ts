import { PhError } from '../../contract/errors';
import type { PresenceMember, Position } from '../../contract/realtime-frames';
import type { Backplane, BackplaneStats, Envelope, HistoryRead, RoomDraft } from './backplane';

/**
 * The backplane as a client's requests reach it (subscribe, history, presence, live replays): every
 * read and presence change that goes to Redis answers within `deadlineMs` or fails with
 * `PH_REALTIME_UNAVAILABLE`, as a publish does. Without it a down Redis held a subscribe through
 * ioredis's retries (6–8 s) and its own errors (MaxRetriesPerRequestError) reached the client as
 * PH_INTERNAL. The in-process backplane cannot hang and is used as it is.
 */
export class BoundedBackplane implements Backplane {
  readonly kind: Backplane['kind'];

  constructor(
    private readonly inner: Backplane,
    private readonly deadlineMs: number,
  ) {
    this.kind = inner.kind;
  }

  /** The inner backplane, or this bound around it when it is Redis. */
  static around(inner: Backplane, deadlineMs: number): Backplane {
    return inner.kind === 'local' ? inner : new BoundedBackplane(inner, deadlineMs);
  }

  start(deliver: (envelope: Envelope) => void): Promise<void> {
    return this.inner.start(deliver);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  healthy(): boolean {
    return this.inner.healthy();
  }

  publishRoom(room: string, draft: RoomDraft, history: boolean): Promise<Position> {
    return this.inner.publishRoom(room, draft, history);
  }

  publishDirect(kind: 'user' | 'all', target: string, envelope: Omit<Envelope, 'kind' | 'target' | 'epoch' | 'offset'>): Promise<void> {
    return this.inner.publishDirect(kind, target, envelope);
  }

  publishEvent(name: string, envelope: Pick<Envelope, 'lane' | 'key' | 'frame'>): Promise<void> {
    return this.inner.publishEvent(name, envelope);
  }

  watch(channel: { room: string } | { user: string }): Promise<void> {
    return this.#bounded(this.inner.watch(channel), 'room' in channel ? `follow ${channel.room}` : 'follow the user');
  }

  unwatch(channel: { room: string } | { user: string }): void {
    this.inner.unwatch(channel);
  }

  position(room: string): Promise<Position | null> {
    return this.#bounded(this.inner.position(room), `read where ${room} stands`);
  }

  origin(room: string, history: boolean): Promise<Position> {
    return this.#bounded(this.inner.origin(room, history), `read where ${room} stands`);
  }

  read(room: string, afterOffset: number | undefined, limit: number, maxAgeMs: number): Promise<HistoryRead> {
    return this.#bounded(this.inner.read(room, afterOffset, limit, maxAgeMs), `read the history of ${room}`);
  }

  presenceJoin(room: string, user: string, meta: Record<string, unknown>): Promise<boolean> {
    return this.#bounded(this.inner.presenceJoin(room, user, meta), `join the presence of ${room}`);
  }

  presenceLeave(room: string, user: string): Promise<boolean> {
    return this.#bounded(this.inner.presenceLeave(room, user), `leave the presence of ${room}`);
  }

  presenceList(room: string): Promise<PresenceMember[]> {
    return this.#bounded(this.inner.presenceList(room), `list the presence of ${room}`);
  }

  presenceRefresh(entries: readonly { room: string; user: string }[]): Promise<void> {
    return this.inner.presenceRefresh(entries);
  }

  publishPresence(room: string, frame: string): Promise<void> {
    return this.inner.publishPresence(room, frame);
  }

  reportStats(stats: BackplaneStats): Promise<void> {
    return this.inner.reportStats(stats);
  }

  nodeStats(): Promise<BackplaneStats[]> {
    return this.inner.nodeStats();
  }

  async #bounded<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new PhError('PH_REALTIME_UNAVAILABLE', `Could not ${what}: the backplane did not answer within ${this.deadlineMs} ms`)),
        this.deadlineMs,
      );
    });
    // A late answer or failure, once the caller has been told, is nobody's to handle.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, late]);
    } catch (err) {
      throw err instanceof PhError
        ? err
        : new PhError('PH_REALTIME_UNAVAILABLE', `Could not ${what}: the backplane is not reachable`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}
