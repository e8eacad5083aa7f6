import { Type } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import type { Lane, PresenceMember, Position } from '../../contract/realtime-frames';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import { Subscriber, withRedisDeadline } from '../redis';
import type { Backplane, BackplaneStats, Envelope, HistoryRead, RoomDraft } from './backplane';
import { DIRECT, EVENT, HISTORY, MEMBER, PRESENCE, ROOM, STATS, openHeader, openRoom, roomSeal, sealHeader } from './backplane-seal';
import { newEpoch } from './local-backplane';
import { SharedReads } from './shared-reads';
import {
  presenceJoinScript,
  presenceLeaveScript,
  presenceListScript,
  presenceRefreshScript,
  originScript,
  publishScript,
  readScript,
} from './redis-scripts';

const PREFIX = 'ph:rt:';
/** `{room}` is a hash tag: a room's keys share one Cluster slot, so the Lua scripts may touch them together. */
const keys = (room: string) => ({
  epoch: `${PREFIX}{${room}}:e`,
  seq: `${PREFIX}{${room}}:n`,
  stream: `${PREFIX}{${room}}:s`,
  presence: `${PREFIX}{${room}}:p`,
});
const roomChannel = (room: string) => `${PREFIX}r:${room}`;
const userChannel = (user: string) => `${PREFIX}u:${user}`;
const ALL_CHANNEL = `${PREFIX}all`;
const EVENTS_CHANNEL = `${PREFIX}events`;
const NODES_KEY = `${PREFIX}nodes`;
const NL = 0x0a;

type ScriptClient = Redis & {
  phPublish(e: string, n: string, s: string, ...argv: string[]): Promise<[string, number]>;
  phOrigin(e: string, n: string, s: string, epoch: string, ttlMs: string): Promise<[string, number]>;
  phRead(
    e: string,
    n: string,
    s: string,
    start: string,
    count: string,
  ): Promise<[string | null, number, number, [string, string[]][], string | number]>;
  phJoin(p: string, ...argv: string[]): Promise<ClaimsChange>;
  phLeave(p: string, ...argv: string[]): Promise<ClaimsChange>;
  phRefresh(p: string, ...argv: string[]): Promise<[string[], string[]]>;
  phList(p: string): Promise<unknown[]>;
};

/** 1 when the script announced a join or leave itself; else 0 and the user's ordered claims before and after. */
type ClaimsChange = [number, string, string];

const StatsSchema = Type.Object({
  node: Type.String({ maxLength: 64 }),
  connections: Type.Integer({ minimum: 0 }),
  users: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  at: Type.Number(),
});

export interface RedisBackplaneOptions {
  readonly node: string;
  readonly historyMaxCount: number;
  readonly historyMaxAgeMs: number;
  readonly presenceTtlMs: number;
}

/**
 * Many nodes on one Redis: every room message is numbered, stored in a Redis Stream (bounded with
 * `XADD MAXLEN ~`) and published on the room's channel in one Lua call; each node subscribes to the
 * channels of rooms and users it has local connections for. Presence lives in a hash per room with
 * a per-node expiry, so a node that dies drops out after the presence TTL.
 *
 * Everything on the channels, in the streams and in the node-stats hash is signed with the fleet
 * seal (backplane-seal.ts) and dropped unread when the signature, age or shape is wrong.
 */
export class RedisBackplane implements Backplane {
  readonly kind = 'redis';
  readonly #cmd: ScriptClient;
  readonly #subscriber: Subscriber;
  readonly #shared = new SharedReads();
  #deliver: (envelope: Envelope) => void = () => undefined;

  constructor(
    client: Redis,
    private readonly options: RedisBackplaneOptions,
    private readonly seal: FleetSeal,
    private readonly logger: Logger,
  ) {
    this.#cmd = client.duplicate({ lazyConnect: true }) as ScriptClient;
    const onError = (err: Error): void => this.logger.debug({ err: err.message }, 'realtime redis error');
    this.#subscriber = new Subscriber(client, { lazyConnect: true }, onError);
    this.#cmd.on('error', onError);
    this.#cmd.defineCommand('phPublish', { numberOfKeys: 3, lua: publishScript });
    this.#cmd.defineCommand('phRead', { numberOfKeys: 3, lua: readScript });
    this.#cmd.defineCommand('phOrigin', { numberOfKeys: 3, lua: originScript });
    this.#cmd.defineCommand('phJoin', { numberOfKeys: 1, lua: presenceJoinScript });
    this.#cmd.defineCommand('phLeave', { numberOfKeys: 1, lua: presenceLeaveScript });
    this.#cmd.defineCommand('phRefresh', { numberOfKeys: 1, lua: presenceRefreshScript });
    this.#cmd.defineCommand('phList', { numberOfKeys: 1, lua: presenceListScript });
  }

  async start(deliver: (envelope: Envelope) => void): Promise<void> {
    this.#deliver = deliver;
    this.#subscriber.client.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel.toString(), message));
    await Promise.all([this.#connect(this.#cmd), this.#connect(this.#subscriber.client)]);
    await this.#subscriber.subscribeAtStart(ALL_CHANNEL, EVENTS_CHANNEL).catch(() => undefined);
  }

  async #connect(client: Redis): Promise<void> {
    try {
      // A stopped server accepts the connection and never answers: the hub starts without it after the deadline.
      await withRedisDeadline(client.connect(), 'realtime connect');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'realtime backplane: redis not reachable yet; retrying');
    }
  }

  async stop(): Promise<void> {
    await this.#cmd.hdel(NODES_KEY, this.options.node).catch(() => undefined);
    for (const c of [this.#subscriber.client, this.#cmd]) {
      try {
        await c.quit();
      } catch {
        c.disconnect();
      }
    }
  }

  healthy(): boolean {
    return this.#cmd.status === 'ready' && this.#subscriber.client.status === 'ready';
  }

  #onMessage(channel: string, message: Buffer): void {
    const nl = message.indexOf(NL);
    if (nl < 0) return;
    const header = message.toString('utf8', 0, nl);
    const frame = message.subarray(nl + 1);
    const base = { mid: '', key: '', epoch: '', offset: 0, ack: false };
    // R|offset|epoch|<room seal>   U|<seal>|lane|ack|mid|key   E|<seal>|name|lane|key   P|<seal>|room
    const type = header.slice(0, 2);
    const rest = header.slice(2);
    if (type === 'R|') {
      const room = channel.slice(PREFIX.length + 2);
      const [offsetText = '', epoch = ''] = rest.split('|', 2);
      const fields = openRoom(
        this.seal,
        ROOM,
        room,
        rest.slice(offsetText.length + epoch.length + 2),
        frame,
        epoch,
        Number(offsetText),
        true,
      );
      if (fields !== null) this.#deliver({ kind: 'room', target: room, ...fields, epoch, offset: Number(offsetText), frame });
    } else if (type === 'U|') {
      const opened = openHeader(this.seal, DIRECT, channel, rest, 4, frame);
      if (opened === null) return;
      const [lane = '', ack, mid = '', key = ''] = opened.fields;
      const all = channel === ALL_CHANNEL;
      this.#deliver({
        ...base,
        kind: all ? 'all' : 'user',
        target: all ? '' : channel.slice(PREFIX.length + 2),
        lane: lane as Lane,
        ack: ack === '1',
        mid,
        key,
        frame,
      });
    } else if (type === 'E|') {
      const opened = openHeader(this.seal, EVENT, EVENTS_CHANNEL, rest, 3, frame);
      if (opened === null || opened.node === this.options.node) return;
      const [name = '', lane = '', key = ''] = opened.fields;
      this.#deliver({ ...base, kind: 'event', target: name, lane: lane as Lane, key, frame });
    } else if (type === 'P|') {
      const opened = openHeader(this.seal, PRESENCE, channel, rest, 1, frame);
      if (opened !== null) this.#deliver({ ...base, kind: 'presence', target: channel.slice(PREFIX.length + 2), lane: 'normal', frame });
    } else {
      this.seal.reject(channel === EVENTS_CHANNEL ? EVENT : ROOM, 'malformed');
    }
  }

  async publishRoom(room: string, draft: RoomDraft, history: boolean): Promise<Position> {
    const k = keys(room);
    const [epoch, offset] = await this.#cmd.phPublish(
      k.epoch,
      k.seq,
      k.stream,
      newEpoch(),
      draft.head,
      draft.tail,
      String(this.options.historyMaxCount),
      String(this.options.historyMaxAgeMs),
      roomChannel(room),
      roomSeal(this.seal, room, draft, draft.head, draft.tail),
      history ? '1' : '0',
    );
    return { epoch, offset: Number(offset) };
  }

  async publishDirect(
    kind: 'user' | 'all',
    target: string,
    envelope: Omit<Envelope, 'kind' | 'target' | 'epoch' | 'offset'>,
  ): Promise<void> {
    const channel = kind === 'all' ? ALL_CHANNEL : userChannel(target);
    const fields = [envelope.lane, envelope.ack ? '1' : '0', envelope.mid, envelope.key];
    const header = Buffer.from(`U|${sealHeader(this.seal, DIRECT, channel, fields, envelope.frame)}\n`);
    await this.#cmd.publish(channel, Buffer.concat([header, envelope.frame]));
  }

  async publishEvent(name: string, envelope: Pick<Envelope, 'lane' | 'key' | 'frame'>): Promise<void> {
    const header = Buffer.from(`E|${sealHeader(this.seal, EVENT, EVENTS_CHANNEL, [name, envelope.lane, envelope.key], envelope.frame)}\n`);
    await this.#cmd.publish(EVENTS_CHANNEL, Buffer.concat([header, envelope.frame]));
  }

  /** A presence frame as it goes on the room's channel, signed. */
  #presence(room: string, frame: string): string {
    return `P|${sealHeader(this.seal, PRESENCE, roomChannel(room), [room], frame)}\n${frame}`;
  }

  async watch(channel: { room: string } | { user: string }): Promise<void> {
    await this.#subscriber.subscribe('room' in channel ? roomChannel(channel.room) : userChannel(channel.user));
  }

  unwatch(channel: { room: string } | { user: string }): void {
    this.#subscriber.unsubscribe('room' in channel ? roomChannel(channel.room) : userChannel(channel.user));
  }

  async position(room: string): Promise<Position | null> {
    const k = keys(room);
    const [epoch, seq] = await this.#cmd.mget(k.epoch, k.seq);
    return epoch === null || epoch === undefined || seq === null || seq === undefined ? null : { epoch, offset: Number(seq) };
  }

  origin(room: string): Promise<Position> {
    return this.#shared.run(`origin\n${room}`, () => this.#origin(room));
  }

  async #origin(room: string): Promise<Position> {
    const k = keys(room);
    const [epoch, offset] = await this.#cmd.phOrigin(k.epoch, k.seq, k.stream, newEpoch(), String(this.options.historyMaxAgeMs));
    return { epoch, offset: Number(offset) };
  }

  read(room: string, afterOffset: number | undefined, limit: number, maxAgeMs: number): Promise<HistoryRead> {
    return this.#shared.run(`read\n${room}\n${afterOffset ?? ''}\n${limit}\n${maxAgeMs}`, () =>
      this.#read(room, afterOffset, limit, maxAgeMs),
    );
  }

  async #read(room: string, afterOffset: number | undefined, limit: number, maxAgeMs: number): Promise<HistoryRead> {
    const k = keys(room);
    const start = afterOffset === undefined ? '-' : `${afterOffset + 1}-0`;
    const [epoch, last, now, rawEntries, oldestId] = await this.#cmd.phRead(k.epoch, k.seq, k.stream, start, String(limit));
    if (epoch === null) return { position: null, frames: [], oldest: 1 };
    const position = { epoch, offset: Number(last) };
    const entries = afterOffset === undefined ? [...rawEntries].reverse() : rawEntries;
    const minAt = now - maxAgeMs;
    const frames: { offset: number; frame: string }[] = [];
    let oldest = oldestId === 0 || oldestId === '0' ? position.offset + 1 : Number(String(oldestId).split('-')[0]);
    for (const [id, fields] of entries) {
      const offset = Number(id.split('-')[0]);
      const at = Number(fieldOf(fields, 't'));
      if (at < minAt) {
        oldest = Math.max(oldest, offset + 1);
        continue;
      }
      const frame = fieldOf(fields, 'f');
      // A stored frame is served to clients on resume: one not signed by the fleet is left out.
      if (openRoom(this.seal, HISTORY, room, fieldOf(fields, 's'), Buffer.from(frame), epoch, offset, false) === null) continue;
      frames.push({ offset, frame });
    }
    return { position, frames, oldest };
  }

  async presenceJoin(room: string, user: string, meta: Record<string, unknown>): Promise<boolean> {
    const [joined, before, after] = await this.#join(room, user, meta);
    if (joined === 1) return true;
    // A node whose first connection gave no metadata vouches for what the list showed: a second tab
    // that says nothing does not blank the user's name when the first one closes.
    const shown = Object.keys(meta).length === 0 ? this.#listed(room, user, before) : null;
    if (shown !== null && Object.keys(shown).length > 0) {
      const [, again, now] = await this.#join(room, user, shown);
      await this.#announceChange(room, user, again, now);
    } else await this.#announceChange(room, user, before, after);
    return false;
  }

  #join(room: string, user: string, meta: Record<string, unknown>): Promise<ClaimsChange> {
    const frame = JSON.stringify({ type: 'presence', room, action: 'join', user, meta });
    return this.#cmd.phJoin(
      keys(room).presence,
      this.options.node,
      user,
      JSON.stringify(meta),
      String(this.options.presenceTtlMs),
      roomChannel(room),
      this.#presence(room, frame),
      this.#claim(room, user, meta),
    );
  }

  /** This node's sealed word that `user` is in `room` with `meta`: what a presence list shows, nothing else. */
  #claim(room: string, user: string, meta: Record<string, unknown>): string {
    return this.seal.seal(MEMBER, `${room}\n${user}`, JSON.stringify(meta));
  }

  async presenceLeave(room: string, user: string): Promise<boolean> {
    const frame = JSON.stringify({ type: 'presence', room, action: 'leave', user });
    const [left, before, after] = await this.#cmd.phLeave(
      keys(room).presence,
      this.options.node,
      user,
      roomChannel(room),
      this.#presence(room, frame),
    );
    if (left !== 1) await this.#announceChange(room, user, before, after);
    return left === 1;
  }

  /**
   * What a list shows of a member: the metadata of the first claim (in the order the nodes took the
   * user in) that has any, `{}` when none has, null when no claim is a fleet node's.
   */
  #listed(room: string, user: string, claims: string): Record<string, unknown> | null {
    let meta: Record<string, unknown> | null = null;
    for (const claim of claims.split('\n')) {
      // Only what a node of the fleet vouched for: a member written into Redis without the secret is not listed.
      const opened = claim === '' ? null : this.seal.open(MEMBER, `${room}\n${user}`, claim, false);
      if (opened === null) continue;
      meta = safeJson(opened.body);
      if (Object.keys(meta).length > 0) return meta;
    }
    return meta;
  }

  /**
   * A member's listed metadata changed while they stayed (the node whose metadata it showed let them
   * go, or a node brought metadata where the list showed none): said to the room.
   */
  async #announceChange(room: string, user: string, before: string, after: string): Promise<void> {
    if (before === after) return;
    const meta = this.#listed(room, user, after);
    if (meta === null || JSON.stringify(meta) === JSON.stringify(this.#listed(room, user, before))) return;
    await this.publishPresence(room, JSON.stringify({ type: 'presence', room, action: 'update', user, meta }));
  }

  async presenceList(room: string): Promise<PresenceMember[]> {
    // Each caller gets its own array: the members are shared, the list is theirs.
    return [...(await this.#shared.run(`presence\n${room}`, () => this.#presenceList(room)))];
  }

  async #presenceList(room: string): Promise<PresenceMember[]> {
    const flat = await this.#cmd.phList(keys(room).presence);
    const members: PresenceMember[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [user, claims] = [flat[i], flat[i + 1]];
      // Only a user and their claims, as the script returns them, can be a member.
      if (typeof user !== 'string' || typeof claims !== 'string') continue;
      const meta = this.#listed(room, user, claims);
      if (meta !== null) members.push({ user, meta });
    }
    return members;
  }

  async presenceRefresh(entries: readonly { room: string; user: string }[]): Promise<void> {
    const byRoom = new Map<string, string[]>();
    for (const { room, user } of entries) {
      const users = byRoom.get(room);
      if (users === undefined) byRoom.set(room, [user]);
      else users.push(user);
    }
    const rooms = [...byRoom];
    const pipeline = this.#cmd.pipeline() as unknown as { phRefresh(...args: string[]): void; exec(): Promise<[Error | null, unknown][]> };
    for (const [room, users] of rooms)
      pipeline.phRefresh(
        keys(room).presence,
        this.options.node,
        String(this.options.presenceTtlMs),
        ...users.flatMap((user) => [user, this.#claim(room, user, {})]),
      );
    const results = await pipeline.exec();
    // Users whose every node stopped refreshing, and those whose listed node did: announced here,
    // signed, since Redis cannot sign.
    const announced: Promise<unknown>[] = [];
    results.forEach(([err, answer], i) => {
      const room = rooms[i]![0];
      if (err !== null || !Array.isArray(answer)) return;
      const [left, changed] = answer as [string[], string[]];
      for (const user of left) {
        announced.push(this.publishPresence(room, JSON.stringify({ type: 'presence', room, action: 'leave', user })));
      }
      for (let c = 0; c + 2 < changed.length; c += 3)
        announced.push(this.#announceChange(room, changed[c] as string, changed[c + 1] as string, changed[c + 2] as string));
    });
    await Promise.all(announced);
  }

  async publishPresence(room: string, frame: string): Promise<void> {
    await this.#cmd.publish(roomChannel(room), this.#presence(room, frame));
  }

  async reportStats(stats: BackplaneStats): Promise<void> {
    await this.#cmd.hset(NODES_KEY, stats.node, this.seal.seal(STATS, `${NODES_KEY}/${stats.node}`, JSON.stringify(stats)));
  }

  async nodeStats(): Promise<BackplaneStats[]> {
    const all = await this.#cmd.hgetall(NODES_KEY);
    const stats: BackplaneStats[] = [];
    for (const [node, text] of Object.entries(all)) {
      const opened = this.seal.openJson(STATS, `${NODES_KEY}/${node}`, text, StatsSchema, false);
      if (opened !== null && opened.value.node === node) stats.push(opened.value);
    }
    return stats;
  }
}

function fieldOf(fields: string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] as string;
  return '';
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
