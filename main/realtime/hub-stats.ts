import type { Backplane } from './backplane';
import type { Connection } from './connection';
import type { HubRooms } from './hub-rooms';
import type { RealtimeStats } from './stats';

/** Counters the hub keeps for its whole life; per-connection counters are folded in when a connection goes. */
export interface HubTotals {
  published: number;
  delivered: number;
  inbound: number;
  closedOverflow: number;
  closedHeartbeat: number;
  dropped: number;
  coalesced: number;
  retried: number;
  ackExpired: number;
  rateLimited: number;
}

/**
 * The hub's numbers: totals, per-second rates and per-room message rates (taken on each `tick`),
 * and the console's Real-time view built from them and from who is connected where.
 */
export class HubStats {
  readonly totals: HubTotals = {
    published: 0,
    delivered: 0,
    inbound: 0,
    closedOverflow: 0,
    closedHeartbeat: 0,
    dropped: 0,
    coalesced: 0,
    retried: 0,
    ackExpired: 0,
    rateLimited: 0,
  };
  readonly #roomCounts = new Map<string, { total: number; rate: number; last: number }>();
  #rates = { publishedPerSecond: 0, deliveredPerSecond: 0, inboundPerSecond: 0 };
  #lastTotals = { published: 0, delivered: 0, inbound: 0, at: 0 };

  constructor(
    private readonly node: string,
    private readonly backplane: Backplane,
    private readonly where: HubRooms,
    private readonly limits: { highWaterBytes: number; pingIntervalMs: number },
  ) {}

  countRoom(room: string): void {
    const entry = this.#roomCounts.get(room);
    if (entry === undefined) this.#roomCounts.set(room, { total: 1, rate: 0, last: 0 });
    else entry.total += 1;
  }

  /** Folds a closing connection's counters into the totals. */
  collect(connection: Connection): void {
    const s = connection.stats;
    this.totals.dropped += s.dropped;
    this.totals.coalesced += s.coalesced;
    this.totals.retried += s.retried;
    this.totals.ackExpired += s.ackExpired;
    this.totals.rateLimited += s.rateLimited;
    s.dropped = s.coalesced = s.retried = s.ackExpired = s.rateLimited = 0;
  }

  /** Takes the rates since the last tick and reports this node's connection counts to the backplane. */
  tick(now: number): void {
    const totals = this.totals;
    const seconds = this.#lastTotals.at === 0 ? 1 : Math.max(0.001, (now - this.#lastTotals.at) / 1000);
    this.#rates = {
      publishedPerSecond: (totals.published - this.#lastTotals.published) / seconds,
      deliveredPerSecond: (totals.delivered - this.#lastTotals.delivered) / seconds,
      inboundPerSecond: (totals.inbound - this.#lastTotals.inbound) / seconds,
    };
    this.#lastTotals = { published: totals.published, delivered: totals.delivered, inbound: totals.inbound, at: now };
    for (const [room, entry] of this.#roomCounts) {
      entry.rate = (entry.total - entry.last) / seconds;
      entry.last = entry.total;
      if (entry.rate === 0 && !this.where.rooms.has(room)) this.#roomCounts.delete(room);
    }
    const users: Record<string, number> = {};
    for (const [user, set] of this.where.users) users[user] = set.size;
    void this.backplane.reportStats({ node: this.node, connections: this.where.connections.size, users, at: now }).catch(() => undefined);
  }

  /** What the console's Real-time view shows. */
  async snapshot(now: number): Promise<RealtimeStats> {
    const { connections, rooms: roomMembers, roomUsers, users } = this.where;
    const lanes = { high: 0, normal: 0, low: 0 };
    const totals = { ...this.totals };
    const slowClients: RealtimeStats['slowClients'] = [];
    for (const connection of connections) {
      const depths = connection.queueDepths();
      lanes.high += depths.high;
      lanes.normal += depths.normal;
      lanes.low += depths.low;
      const s = connection.stats;
      totals.dropped += s.dropped;
      totals.coalesced += s.coalesced;
      totals.retried += s.retried;
      totals.ackExpired += s.ackExpired;
      totals.rateLimited += s.rateLimited;
      const held = connection.heldBytes;
      if (held >= this.limits.highWaterBytes || s.dropped > 0) {
        slowClients.push({ session: connection.session, user: connection.user, heldBytes: held, queued: depths, dropped: s.dropped });
      }
    }
    const nodes = await this.backplane.nodeStats().catch(() => []);
    const stale = this.limits.pingIntervalMs * 3 + 3000;
    const rooms = [...roomMembers].map(([room, members]) => ({
      room,
      members: members.size,
      users: roomUsers.get(room)?.size ?? 0,
      messagesPerSecond: this.#roomCounts.get(room)?.rate ?? 0,
    }));
    rooms.sort((a, b) => b.members - a.members || a.room.localeCompare(b.room));
    let presence = 0;
    for (const members of roomUsers.values()) presence += members.size;
    return {
      node: this.node,
      backplane: this.backplane.kind,
      healthy: this.backplane.healthy(),
      connections: connections.size,
      byUser: [...users].map(([user, set]) => ({ user, connections: set.size })).sort((a, b) => b.connections - a.connections),
      // This node is always live to itself; a report it wrote a while ago under load must not hide it.
      byNode: [
        { node: this.node, connections: connections.size, at: now },
        ...nodes
          .filter((n) => n.node !== this.node && now - n.at < stale)
          .map((n) => ({ node: n.node, connections: n.connections, at: n.at })),
      ],
      rooms,
      presence,
      slowClients: slowClients.sort((a, b) => b.heldBytes - a.heldBytes).slice(0, 50),
      lanes,
      rates: this.#rates,
      totals: {
        published: totals.published,
        delivered: totals.delivered,
        dropped: totals.dropped,
        coalesced: totals.coalesced,
        retried: totals.retried,
        ackExpired: totals.ackExpired,
        rateLimited: totals.rateLimited,
        closedOverflow: totals.closedOverflow,
        closedHeartbeat: totals.closedHeartbeat,
      },
    };
  }
}
