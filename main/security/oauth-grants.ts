import { createHash, randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../clock';
import type { ReplicaSource } from '../fleet';
import type { OAuthGrantScope } from './oauth-scopes';

/**
 * One grant (a refresh-token family) as the fleet table `oauth-grants` shares it. Refresh tokens
 * travel as SHA-256 hashes only (the secrets are 256 random bits, so a hash cannot be turned back);
 * `usedHashes` are the family's spent tokens, which is how a reuse is told from a wrong guess.
 */
export const OAuthGrantRecordSchema = Type.Object(
  {
    keyId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
    role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
    scopes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 }),
    tokenHash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    usedHashes: Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' }), { maxItems: 50 }),
    rotation: Type.Integer({ minimum: 0 }),
    createdAt: Type.Integer({ minimum: 0 }),
    expiresAt: Type.Integer({ minimum: 0 }),
    revokedAt: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    reason: Type.Union([Type.Literal('revoked'), Type.Literal('reused'), Type.Null()]),
  },
  { additionalProperties: false },
);
export type OAuthGrantRecord = Static<typeof OAuthGrantRecordSchema>;
export type OAuthGrant = OAuthGrantRecord & { readonly id: string };

interface GrantRow {
  id: string;
  record: string;
}

const REFRESH_PATTERN = /^phr_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
/** Spent refresh tokens remembered per family: a reuse older than this many rotations reads as a wrong token. */
const USED_KEPT = 50;

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** What a presented refresh token is to its family. */
export type RefreshLookup =
  | { readonly kind: 'current'; readonly grant: OAuthGrant; readonly hash: string }
  | { readonly kind: 'reused'; readonly grant: OAuthGrant }
  | { readonly kind: 'unknown' };

/**
 * The grants behind refresh tokens (RFC 6749 §6 with rotation): each client-credentials exchange
 * starts a family; each refresh spends the family's token and hands out the next; a spent token
 * presented again revokes the family (it leaked: either the thief or the client holds the live
 * one, and neither can be told apart), and with it every access token minted from it. Records are
 * stored whole as JSON (the fleet table's value), with the revoked ids also kept in memory, since
 * every request with an access token asks.
 */
export class OAuthGrants {
  readonly #revoked = new Set<string>();
  readonly #listeners = new Set<(id: string, value: OAuthGrantRecord | null) => void>();
  readonly #onRevoked = new Set<(grant: OAuthGrant) => void>();
  readonly #get: Statement<[string], GrantRow>;
  readonly #put: Statement<[string, string, number]>;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** How long a family lives from its first token, whatever its refreshes. */
    private readonly lifetimeMs: number,
  ) {
    this.#get = db.prepare('SELECT id, record FROM oauth_grants WHERE id = ?');
    this.#put = db.prepare(
      'INSERT INTO oauth_grants (id, record, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at',
    );
    for (const row of db.prepare('SELECT id, record FROM oauth_grants').all() as GrantRow[])
      if (parse(row).revokedAt !== null) this.#revoked.add(row.id);
  }

  /** A new family for a key; returns it and its first refresh token. */
  create(keyId: string, scope: OAuthGrantScope): { grant: OAuthGrant; refreshToken: string } {
    this.#prune();
    const id = randomBytes(16).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const record: OAuthGrantRecord = {
      keyId,
      role: scope.role,
      scopes: [...scope.scopes],
      tokenHash: hashOf(secret),
      usedHashes: [],
      rotation: 0,
      createdAt: now,
      expiresAt: now + this.lifetimeMs,
      revokedAt: null,
      reason: null,
    };
    this.#save(id, record);
    return { grant: { id, ...record }, refreshToken: `phr_${id}_${secret}` };
  }

  get(id: string): OAuthGrant | null {
    const row = this.#get.get(id);
    return row === undefined ? null : { id, ...parse(row) };
  }

  isRevoked(id: string): boolean {
    return this.#revoked.has(id);
  }

  /** What a presented refresh token is: its family's live token, a spent one, or nothing of ours (or of a dead family). */
  lookup(token: string): RefreshLookup {
    const match = REFRESH_PATTERN.exec(token);
    if (match === null) return { kind: 'unknown' };
    const [, id, secret] = match as unknown as [string, string, string];
    const grant = this.get(id);
    if (grant === null || grant.revokedAt !== null || grant.expiresAt <= this.clock.now()) return { kind: 'unknown' };
    const hash = hashOf(secret);
    if (hash === grant.tokenHash) return { kind: 'current', grant, hash };
    return grant.usedHashes.includes(hash) ? { kind: 'reused', grant } : { kind: 'unknown' };
  }

  /**
   * Spends the family's live token (`hash`) and returns the next; null when it is no longer the
   * live one (a refresh that raced this one, here or on another node, spent it first).
   */
  rotate(id: string, hash: string): string | null {
    const grant = this.get(id);
    if (grant === null || grant.revokedAt !== null || grant.tokenHash !== hash) return null;
    const secret = randomBytes(32).toString('base64url');
    const { id: _id, ...record } = grant;
    this.#save(id, {
      ...record,
      tokenHash: hashOf(secret),
      usedHashes: [...grant.usedHashes, hash].slice(-USED_KEPT),
      rotation: grant.rotation + 1,
    });
    return `phr_${id}_${secret}`;
  }

  /** Ends a family: its refresh token and every access token minted from it, on every node. */
  revoke(id: string, reason: 'revoked' | 'reused'): void {
    const grant = this.get(id);
    if (grant === null || grant.revokedAt !== null) return;
    const { id: _id, ...record } = grant;
    const revoked = { ...record, revokedAt: this.clock.now(), reason };
    this.#save(id, revoked);
    this.#revoked.add(id);
    for (const listener of this.#onRevoked) listener({ id, ...revoked });
  }

  /** Hears every family that ends, here or (as its record arrives) on another node. */
  onRevoked(listener: (grant: OAuthGrant) => void): () => void {
    this.#onRevoked.add(listener);
    return () => this.#onRevoked.delete(listener);
  }

  /**
   * How the fleet table `oauth-grants` reads and writes the families. A revocation is never undone
   * by a merge (a record that would bring a revoked family back keeps the revocation), and a spent
   * token stays spent: the used hashes of both sides are kept.
   */
  replicaSource(): ReplicaSource<OAuthGrantRecord> {
    return {
      rows: () => (this.db.prepare('SELECT id, record FROM oauth_grants').all() as GrantRow[]).map((row) => [row.id, parse(row)] as const),
      apply: (id, value) => {
        if (value === null) {
          this.db.prepare('DELETE FROM oauth_grants WHERE id = ?').run(id);
          return;
        }
        const held = this.get(id);
        const merged: OAuthGrantRecord =
          held === null
            ? value
            : {
                ...value,
                usedHashes: [...new Set([...held.usedHashes, ...value.usedHashes])].slice(-USED_KEPT),
                revokedAt: held.revokedAt ?? value.revokedAt,
                reason: held.reason ?? value.reason,
              };
        this.#put.run(id, JSON.stringify(merged), merged.expiresAt);
        if (merged.revokedAt !== null && !this.#revoked.has(id)) {
          this.#revoked.add(id);
          for (const listener of this.#onRevoked) listener({ id, ...merged });
        }
      },
      onLocalChange: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
    };
  }

  #save(id: string, record: OAuthGrantRecord): void {
    this.#put.run(id, JSON.stringify(record), record.expiresAt);
    for (const listener of this.#listeners) listener(id, record);
  }

  /** Families past their lifetime go (a tombstone each in the fleet table); their tokens are dead anyway. */
  #prune(): void {
    const expired = this.db.prepare('SELECT id FROM oauth_grants WHERE expires_at <= ?').all(this.clock.now()) as { id: string }[];
    for (const { id } of expired) {
      this.db.prepare('DELETE FROM oauth_grants WHERE id = ?').run(id);
      this.#revoked.delete(id);
      for (const listener of this.#listeners) listener(id, null);
    }
  }
}

function parse(row: GrantRow): OAuthGrantRecord {
  return JSON.parse(row.record) as OAuthGrantRecord;
}
