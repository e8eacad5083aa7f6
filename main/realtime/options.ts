import type { Role } from '../../contract/roles';
import type { Lane } from '../../contract/realtime-frames';

export interface RoomRule {
  /** Rooms whose name starts with this prefix ('' matches every room); the longest match wins. */
  readonly prefix: string;
  /** Least role that may subscribe, or `none` (server only). */
  readonly subscribeRole: Role | 'none';
  readonly publishRole: Role | 'none';
  /** When set, the caller's key must also hold this scope (or `*`). */
  readonly subscribeScope?: string;
  readonly publishScope?: string;
  /** The lane room messages ride in unless a publish says otherwise. */
  readonly lane: Lane;
  /** Keep a history (count and age bound) for replay after reconnect. */
  readonly history: boolean;
}

export interface HubOptions {
  /** Server ping every this many ms; a connection that misses two is closed (default 15 000). */
  readonly pingIntervalMs: number;
  /** Time to authenticate with a first `auth` frame when no Authorization header came (5 000). */
  readonly authDeadlineMs: number;
  /** Largest inbound frame in bytes (64 KiB); bigger closes the connection with 1009. */
  readonly maxPayloadBytes: number;
  /** Outgoing cap per connection, bytes in the socket plus queued (1 MiB). */
  readonly maxBufferedBytes: number;
  /** Above this many bytes in the socket, new frames queue in lanes instead of being written (64 KiB). */
  readonly highWaterBytes: number;
  /** Rooms one connection may be subscribed to at once (256); one more is refused with `PH_REALTIME_TOO_MANY_ROOMS`. */
  readonly maxSubscriptions: number;
  /** Connections one viewer or operator key may hold to this node at once (256); one more is refused with `PH_REALTIME_TOO_MANY_CONNECTIONS`. */
  readonly maxConnectionsPerKey: number;
  /** Messages kept per room (1 000) and their age bound (1 h). */
  readonly historyMaxCount: number;
  readonly historyMaxAgeMs: number;
  /** Ack-required messages are resent every `ackRetryMs` (1 000) until acked or `ackDeadlineMs` (30 000) passes. */
  readonly ackRetryMs: number;
  readonly ackDeadlineMs: number;
  /**
   * A member's presence metadata, as JSON, may take this many bytes (1 024); more is refused with
   * `PH_INVALID_INPUT` (field `presence`): every join fans it out and every list carries it.
   */
  readonly maxPresenceMetaBytes: number;
  /** Members one `subscribe` or `presence` reply lists at most (200); `membersTotal` counts them all. */
  readonly maxPresenceListed: number;
  /** Presence entries of a node expire this long after its last refresh (3 × ping interval when 0). */
  readonly presenceTtlMs: number;
  /** Off by default: per-connection zlib contexts cost ~300 KB each (ws #1617) and CPU on every frame. */
  readonly perMessageDeflate: boolean;
  readonly rooms: readonly RoomRule[];
}

export const defaultRoomRules: readonly RoomRule[] = [
  { prefix: '', subscribeRole: 'viewer', publishRole: 'operator', lane: 'normal', history: true },
  // Server-published: progress of jobs, backups, health, cache stats; latest value per key matters.
  { prefix: 'progress:', subscribeRole: 'viewer', publishRole: 'none', lane: 'low', history: false },
  // The node's own traffic (what its services do and to whom): not for dashboards with a viewer key.
  { prefix: 'system:', subscribeRole: 'operator', publishRole: 'none', lane: 'normal', history: false },
  { prefix: 'alerts:', subscribeRole: 'viewer', publishRole: 'operator', lane: 'high', history: true },
];

export const defaultHubOptions: HubOptions = {
  pingIntervalMs: 15_000,
  authDeadlineMs: 5_000,
  maxPayloadBytes: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
  highWaterBytes: 64 * 1024,
  maxSubscriptions: 256,
  maxConnectionsPerKey: 256,
  historyMaxCount: 1_000,
  historyMaxAgeMs: 60 * 60 * 1000,
  ackRetryMs: 1_000,
  ackDeadlineMs: 30_000,
  maxPresenceMetaBytes: 1024,
  maxPresenceListed: 200,
  presenceTtlMs: 0,
  perMessageDeflate: false,
  rooms: defaultRoomRules,
};

/** A room rule as the config file gives it: the lane (normal) and history (kept) may be left out. */
export type RoomRuleSetting = Omit<RoomRule, 'lane' | 'history'> & Partial<Pick<RoomRule, 'lane' | 'history'>>;

/**
 * The default rules with the configured ones laid over them: a configured prefix replaces the
 * default rule of the same prefix, others are added. So a config that only adds `orders:` keeps
 * the defaults' protection of `system:` and `progress:`.
 */
export function withRoomRules(configured: readonly RoomRuleSetting[], base: readonly RoomRule[] = defaultRoomRules): RoomRule[] {
  const rules = new Map(base.map((rule) => [rule.prefix, rule]));
  for (const rule of configured) rules.set(rule.prefix, { lane: 'normal', history: true, ...rule });
  return [...rules.values()];
}

export function hubOptions(overrides: Partial<HubOptions> = {}): HubOptions {
  return { ...defaultHubOptions, ...overrides };
}

export function presenceTtl(options: HubOptions): number {
  return options.presenceTtlMs > 0 ? options.presenceTtlMs : options.pingIntervalMs * 3;
}
