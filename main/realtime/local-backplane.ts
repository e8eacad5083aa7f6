import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../clock';
import type { PresenceMember, Position } from '../../contract/realtime-frames';
import { composeFrame, type Backplane, type BackplaneStats, type Envelope, type HistoryRead, type RoomDraft } from './backplane';

export function newEpoch(): string {
  return randomBytes(6).toString('hex');
}

/**
 * One machine, no Redis: frames go straight to this node's connections; room history lives in the
 * app's SQLite database (so it survives a restart with its epoch), presence in memory.
 */
export class LocalBackplane implements Backplane {
  readonly kind = 'local';
  #deliver: (envelope: Envelope) => void = () => undefined;
  /** Rooms without history still number their messages; their epoch is this process's. */
  readonly #volatileEpoch = newEpoch();
  /**
   * The epoch of every room this database starts (kept in `realtime_epoch`): an empty room's
   * position names it before the first message, and the first message keeps it.
   */
  readonly #epoch: string;
  readonly #volatile = new Map<string, number>();
  readonly #presence = new Map<string, Map<string, Record<string, unknown>>>();
  #stats: BackplaneStats | null = null;
  #trimTimer: NodeJS.Timeout | null = null;
  readonly #sql: {
    room: Statement<[string], { epoch: string; last_offset: number }>;
    insertRoom: Statement<[string, string, number]>;
    bump: Statement<[number, string]>;
    insert: Statement<[string, number, number, string]>;
    trim: Statement<[string, number]>;
    after: Statement<[string, number, number, number], { offset: number; frame: string }>;
    oldest: Statement<[string, number], { offset: number | null }>;
    trimAge: Statement<[number]>;
  };

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly options: { historyMaxCount: number; historyMaxAgeMs: number },
  ) {
    this.#sql = {
      room: db.prepare('SELECT epoch, last_offset FROM realtime_rooms WHERE room = ?'),
      insertRoom: db.prepare('INSERT INTO realtime_rooms (room, epoch, last_offset) VALUES (?, ?, ?)'),
      bump: db.prepare('UPDATE realtime_rooms SET last_offset = ? WHERE room = ?'),
      insert: db.prepare('INSERT INTO realtime_history (room, offset, at, frame) VALUES (?, ?, ?, ?)'),
      trim: db.prepare('DELETE FROM realtime_history WHERE room = ? AND offset <= ?'),
      after: db.prepare('SELECT offset, frame FROM realtime_history WHERE room = ? AND offset > ? AND at >= ? ORDER BY offset LIMIT ?'),
      oldest: db.prepare('SELECT MIN(offset) AS offset FROM realtime_history WHERE room = ? AND at >= ?'),
      trimAge: db.prepare('DELETE FROM realtime_history WHERE at < ?'),
    };
    this.#epoch = (db.prepare('SELECT epoch FROM realtime_epoch').get() as { epoch: string }).epoch;
  }

  async start(deliver: (envelope: Envelope) => void): Promise<void> {
    this.#deliver = deliver;
    this.#trimTimer = setInterval(() => this.#sql.trimAge.run(this.clock.now() - this.options.historyMaxAgeMs), 60_000);
    this.#trimTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.#trimTimer !== null) clearInterval(this.#trimTimer);
    this.#trimTimer = null;
  }

  healthy(): boolean {
    return true;
  }

  readonly #append = (room: string, draft: RoomDraft): { position: Position; frame: string } => {
    const row = this.#sql.room.get(room);
    const epoch = row?.epoch ?? this.#epoch;
    const offset = (row?.last_offset ?? 0) + 1;
    if (row === undefined) this.#sql.insertRoom.run(room, epoch, offset);
    else this.#sql.bump.run(offset, room);
    const frame = composeFrame(draft, epoch, offset);
    this.#sql.insert.run(room, offset, draft.at, frame);
    if (offset > this.options.historyMaxCount) this.#sql.trim.run(room, offset - this.options.historyMaxCount);
    return { position: { epoch, offset }, frame };
  };

  async publishRoom(room: string, draft: RoomDraft, history: boolean): Promise<Position> {
    let position: Position;
    let frame: string;
    if (history) {
      ({ position, frame } = this.db.transaction(this.#append)(room, draft));
    } else {
      const offset = (this.#volatile.get(room) ?? 0) + 1;
      this.#volatile.set(room, offset);
      position = { epoch: this.#volatileEpoch, offset };
      frame = composeFrame(draft, position.epoch, offset);
    }
    this.#deliver({
      kind: 'room',
      target: room,
      lane: draft.lane,
      ack: draft.ack,
      mid: draft.mid,
      key: draft.key,
      ...position,
      frame: Buffer.from(frame),
    });
    return position;
  }

  async publishDirect(
    kind: 'user' | 'all',
    target: string,
    envelope: Omit<Envelope, 'kind' | 'target' | 'epoch' | 'offset'>,
  ): Promise<void> {
    this.#deliver({ ...envelope, kind, target, epoch: '', offset: 0 });
  }

  /** One node: its consoles already have the event from its own bus. */
  async publishEvent(): Promise<void> {}

  async watch(): Promise<void> {}
  unwatch(): void {}

  async position(room: string): Promise<Position | null> {
    const row = this.#sql.room.get(room);
    if (row !== undefined) return { epoch: row.epoch, offset: row.last_offset };
    const offset = this.#volatile.get(room);
    return offset === undefined ? null : { epoch: this.#volatileEpoch, offset };
  }

  async origin(room: string, history: boolean): Promise<Position> {
    if (!history) return { epoch: this.#volatileEpoch, offset: this.#volatile.get(room) ?? 0 };
    const row = this.#sql.room.get(room);
    return row === undefined ? { epoch: this.#epoch, offset: 0 } : { epoch: row.epoch, offset: row.last_offset };
  }

  async read(room: string, afterOffset: number | undefined, limit: number, maxAgeMs: number): Promise<HistoryRead> {
    const position = await this.position(room);
    if (position === null) return { position, frames: [], oldest: 1 };
    const minAt = this.clock.now() - maxAgeMs;
    const start = afterOffset ?? Math.max(0, position.offset - limit);
    const frames = this.#sql.after.all(room, start, minAt, limit);
    const oldest = this.#sql.oldest.get(room, minAt)?.offset ?? position.offset + 1;
    return { position, frames, oldest };
  }

  async presenceJoin(room: string, user: string, meta: Record<string, unknown>): Promise<boolean> {
    let members = this.#presence.get(room);
    if (members === undefined) this.#presence.set(room, (members = new Map()));
    const had = members.has(user);
    members.set(user, meta);
    if (!had) void this.publishPresence(room, JSON.stringify({ type: 'presence', room, action: 'join', user, meta }));
    return !had;
  }

  async presenceLeave(room: string, user: string): Promise<boolean> {
    const members = this.#presence.get(room);
    const had = members?.delete(user) ?? false;
    if (members?.size === 0) this.#presence.delete(room);
    if (had) void this.publishPresence(room, JSON.stringify({ type: 'presence', room, action: 'leave', user }));
    return had;
  }

  async presenceList(room: string): Promise<PresenceMember[]> {
    return [...(this.#presence.get(room) ?? [])].map(([user, meta]) => ({ user, meta }));
  }

  async presenceRefresh(): Promise<void> {}

  async publishPresence(room: string, frame: string): Promise<void> {
    this.#deliver({
      kind: 'presence',
      target: room,
      lane: 'normal',
      ack: false,
      mid: '',
      key: '',
      epoch: '',
      offset: 0,
      frame: Buffer.from(frame),
    });
  }

  async reportStats(stats: BackplaneStats): Promise<void> {
    this.#stats = stats;
  }

  async nodeStats(): Promise<BackplaneStats[]> {
    return this.#stats === null ? [] : [this.#stats];
  }
}
