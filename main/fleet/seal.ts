import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock';
import type { Logger } from '../logger';

/** Why a message from Redis was dropped: the `reason` label of the rejection counter. */
export type RejectReason = 'malformed' | 'signature' | 'stale' | 'schema';

/** A message that passed: who sent it, when (their clock, epoch ms), and its body. */
export interface Opened {
  readonly node: string;
  readonly at: number;
  readonly body: string;
}

export interface FleetSealOptions {
  /** The fleet secret every node shares (never stored in the database). */
  readonly secret: string;
  readonly nodeId: string;
  readonly clock: Clock;
  /** A message older (or further in the future) than this is a replay or a broken clock: dropped. */
  readonly maxAgeMs?: number;
  /** Where `pilothouse_fleet_messages_rejected_total` is registered (the node's own registry). */
  readonly registry?: Registry;
  readonly logger?: Logger;
}

const VERSION = 'ph1';
/** Length of the MAC `sealBytes` puts before the bytes (the cache's Lua scripts read the envelope past it). */
export const MAC_BYTES = 32;
const MAC_TEXT = 43; // base64url of 32 bytes, no padding
const NODE = /^[A-Za-z0-9._-]{1,64}$/;
const WARN_EVERY_MS = 10_000;
export const DEFAULT_MAX_AGE_MS = 30_000;
const REASON_TEXT: Record<Exclude<RejectReason, 'stale'>, string> = {
  malformed: 'not in the fleet envelope',
  signature: 'its signature is not of this fleet secret',
  schema: 'not the declared shape',
};

/**
 * The one envelope for everything one node writes to Redis for others to read: an HMAC-SHA256 with
 * the fleet secret over the kind of message, its subject (channel or key), the sender's node id,
 * a timestamp and the body. Anyone who can PUBLISH or write keys on the fleet's Redis without the
 * secret can no longer make a node act: a forged, altered, moved (other subject), stale or
 * malformed message is dropped, counted and logged (at most one warning per kind and reason every
 * 10 s, so a flood cannot fill the log).
 *
 * Text form: `ph1|<node>|<at>|<mac>|<body>`. Messages that Redis completes itself (a Lua script
 * adds a sequence number) carry `mac()` over the parts the node wrote, checked with `verify()`.
 */
export class FleetSeal {
  readonly nodeId: string;
  readonly #secret: Buffer;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #rejected: Counter<'channel' | 'reason'> | null;
  readonly #logger: Logger | undefined;
  readonly #lastWarn = new Map<string, { at: number; suppressed: number }>();
  /** Rejections by `kind/reason`, for tests and status (the counter holds the same). */
  readonly rejections = new Map<string, number>();

  constructor(options: FleetSealOptions) {
    if (options.secret.length < 32) throw new Error('The fleet secret must be at least 32 characters');
    if (!NODE.test(options.nodeId)) throw new Error(`Invalid node id ${JSON.stringify(options.nodeId)}`);
    this.nodeId = options.nodeId;
    this.#secret = Buffer.from(options.secret, 'utf8');
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#logger = options.logger;
    const registry = options.registry;
    this.#rejected =
      registry === undefined
        ? null
        : ((registry.getSingleMetric('pilothouse_fleet_messages_rejected_total') as Counter<'channel' | 'reason'> | undefined) ??
          new Counter({
            name: 'pilothouse_fleet_messages_rejected_total',
            help: 'Messages from Redis dropped because their fleet signature, age or shape was wrong, by channel and reason',
            labelNames: ['channel', 'reason'],
            registers: [registry],
          }));
  }

  /** HMAC over the parts, each length-prefixed so no two different part lists sign alike. */
  mac(kind: string, subject: string, node: string, at: number, parts: readonly (string | Buffer)[]): string {
    const h = createHmac('sha256', this.#secret);
    for (const part of [VERSION, kind, subject, node, String(at), ...parts]) {
      const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
      h.update(`${bytes.length}:`);
      h.update(bytes);
    }
    return h.digest('base64url');
  }

  /** This node's clock, as `seal` stamps messages. */
  now(): number {
    return this.#clock.now();
  }

  /** Signs `body` as this node, now. */
  seal(kind: string, subject: string, body: string): string {
    const at = this.#clock.now();
    return `${VERSION}|${this.nodeId}|${at}|${this.mac(kind, subject, this.nodeId, at, [body])}|${body}`;
  }

  /**
   * The message if it is well-formed, signed with the fleet secret for this kind and subject and,
   * unless `fresh` is false (a record kept in a hash), recent; otherwise null, counted and logged.
   */
  open(kind: string, subject: string, raw: string, fresh = true): Opened | null {
    const fields = splitHead(raw, 4);
    if (fields === null || fields[0] !== VERSION) return this.reject(kind, 'malformed');
    const [, node, atText, mac, body] = fields as [string, string, string, string, string];
    const at = Number(atText);
    if (!NODE.test(node) || !/^\d{1,15}$/.test(atText) || mac.length !== MAC_TEXT) return this.reject(kind, 'malformed');
    if (!this.verify(kind, subject, node, at, mac, [body], fresh)) return null;
    return { node, at, body };
  }

  /** `open`, then JSON and the schema: what a receiver acts on is exactly the declared shape. */
  openJson<S extends TSchema>(kind: string, subject: string, raw: string, schema: S, fresh = true): (Opened & { value: Static<S> }) | null {
    const opened = this.open(kind, subject, raw, fresh);
    if (opened === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(opened.body);
    } catch {
      return this.reject(kind, 'malformed');
    }
    if (!Value.Check(schema, value)) return this.reject(kind, 'schema');
    return { ...opened, value };
  }

  /**
   * Checks a MAC made by `mac()` (and the age, when `fresh`); counts and logs a failure under
   * `countAs` (default: the kind).
   */
  verify(
    kind: string,
    subject: string,
    node: string,
    at: number,
    mac: string,
    parts: readonly (string | Buffer)[],
    fresh = true,
    countAs = kind,
  ): boolean {
    if (!NODE.test(node) || !Number.isSafeInteger(at)) {
      this.reject(countAs, 'malformed');
      return false;
    }
    const given = Buffer.from(mac, 'base64url');
    const expected = Buffer.from(this.mac(kind, subject, node, at, parts), 'base64url');
    if (given.length !== MAC_BYTES || !timingSafeEqual(given, expected)) {
      this.reject(countAs, 'signature');
      return false;
    }
    const ageMs = this.#clock.now() - at;
    if (fresh && Math.abs(ageMs) > this.#maxAgeMs) {
      this.reject(countAs, 'stale', { from: node, ageMs });
      return false;
    }
    return true;
  }

  /** Bytes kept in Redis for other nodes to read later (a cached value): the MAC, then the bytes. */
  sealBytes(kind: string, subject: string, bytes: Buffer): Buffer {
    return Buffer.concat([Buffer.from(this.mac(kind, subject, '', 0, [bytes]), 'base64url'), bytes]);
  }

  openBytes(kind: string, subject: string, sealed: Buffer): Buffer | null {
    if (sealed.length < MAC_BYTES) return this.reject(kind, 'malformed');
    const bytes = sealed.subarray(MAC_BYTES);
    const expected = Buffer.from(this.mac(kind, subject, '', 0, [bytes]), 'base64url');
    if (!timingSafeEqual(sealed.subarray(0, MAC_BYTES), expected)) return this.reject(kind, 'signature');
    return bytes;
  }

  /**
   * Counts and (rate-limited) logs a dropped message; returns null for the caller to return. A stale
   * one names its sender and age: a genuine message that is "stale" as it arrives means the two
   * nodes' clocks disagree, not that someone forged it.
   */
  reject(kind: string, reason: RejectReason, stale?: { from: string; ageMs: number }): null {
    const key = `${kind}/${reason}`;
    this.rejections.set(key, (this.rejections.get(key) ?? 0) + 1);
    this.#rejected?.inc({ channel: kind, reason });
    const now = this.#clock.now();
    const last = this.#lastWarn.get(key);
    if (last !== undefined && now - last.at < WARN_EVERY_MS) {
      last.suppressed += 1;
      return null;
    }
    this.#lastWarn.set(key, { at: now, suppressed: 0 });
    const suppressedSinceLastWarning = last?.suppressed ?? 0;
    if (reason !== 'stale') {
      this.#logger?.warn(
        { channel: kind, reason, suppressedSinceLastWarning },
        `dropped a message from redis that is not from this fleet (${REASON_TEXT[reason]})`,
      );
      return null;
    }
    const why = "a replay, or the nodes' clocks disagree: keep them in sync with NTP";
    const text =
      stale === undefined
        ? `dropped a message from redis for its age (${why})`
        : `dropped a message from redis for its age: node ${stale.from} stamped it ${(Math.abs(stale.ageMs) / 1000).toFixed(1)} s ${stale.ageMs >= 0 ? 'before' : 'after'} this node's clock, beyond the ${this.#maxAgeMs / 1000} s allowed (${why})`;
    this.#logger?.warn({ channel: kind, reason, ...stale, suppressedSinceLastWarning }, text);
    return null;
  }

  rejected(kind: string, reason?: RejectReason): number {
    if (reason !== undefined) return this.rejections.get(`${kind}/${reason}`) ?? 0;
    let n = 0;
    for (const [key, count] of this.rejections) if (key.startsWith(`${kind}/`)) n += count;
    return n;
  }
}

/** The first `count` `|`-separated fields and the rest (which may hold `|`), or null. */
function splitHead(raw: string, count: number): string[] | null {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < count; i += 1) {
    const bar = raw.indexOf('|', from);
    if (bar < 0) return null;
    out.push(raw.slice(from, bar));
    from = bar + 1;
  }
  out.push(raw.slice(from));
  return out;
}
