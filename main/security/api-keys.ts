import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { Type, type Static } from '@sinclair/typebox';
import { PhError } from '../../contract/errors';
import type { ApiVersion } from '../../contract/api-versions';
import { ApiVersionSchema, type ApiKeySchema } from '../../contract/ops/security';
import type { Role } from '../../contract/roles';
import type { Clock } from '../clock';
import type { Caller } from '../core';
import type { ReplicaSource } from '../fleet';

export type ApiKey = Static<typeof ApiKeySchema>;

interface KeyRow {
  id: string;
  name: string;
  role: Role;
  scopes: string;
  secret_hash: string;
  created_at: string;
  created_by: string;
  last_used_at: string | null;
  revoked_at: string | null;
  api_version: ApiVersion | null;
}

/**
 * A key as the fleet shares it: everything but when it was last used (each node sees its own use).
 * The secret's SHA-256 travels (sealed, not encrypted): the secret is 256 random bits, so the hash
 * cannot be turned back into it.
 */
export const ApiKeyRecordSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
    scopes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 }),
    secretHash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    createdAt: Type.String({ maxLength: 40 }),
    createdBy: Type.String({ maxLength: 200 }),
    revokedAt: Type.Union([Type.String({ maxLength: 40 }), Type.Null()]),
    /** Optional: a node from before pinning sends none, and its keys follow the latest. */
    apiVersion: Type.Optional(Type.Union([ApiVersionSchema, Type.Null()])),
  },
  { additionalProperties: false },
);
export type ApiKeyRecord = Static<typeof ApiKeyRecordSchema>;

const KEY_PATTERN = /^ph_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Writing last-used on every request would turn reads into writes; once a minute is enough to see. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

/** The one-shot `hash` skips building a Hash object: this runs on every request a key makes. */
const hashSecret = (secret: string): Buffer => hash('sha256', secret, 'buffer');

/**
 * API keys look like `ph_<16 hex id>_<43 char secret>`. Only a SHA-256 of the secret is stored: the
 * secret is 256 random bits, so a fast hash is enough (no password stretching needed), and the full
 * key is returned once, at creation.
 */
export class ApiKeyStore {
  readonly #lastUsedWritten = new Map<string, number>();
  readonly #listeners = new Set<(id: string, record: ApiKeyRecord | null) => void>();
  readonly #revokedElsewhere = new Set<(id: string) => void>();
  /** Prepared once: verify runs on every request, and preparing is most of its cost. */
  readonly #byId: Statement<[string], KeyRow>;
  /**
   * Live keys already read, by id, so the check on every request skips SQLite and the scopes' JSON.
   * Every change to a row (made here or arriving from the fleet) passes through this store and drops
   * its entry, so a revocation is seen by the very next request. At most one entry per live key.
   */
  readonly #live = new Map<string, { expected: Buffer; caller: Caller }>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.#byId = db.prepare('SELECT * FROM api_keys WHERE id = ?');
  }

  create(
    input: { name: string; role: Role; scopes?: readonly string[]; apiVersion?: ApiVersion },
    createdBy: string,
  ): { key: ApiKey; secret: string } {
    const id = randomBytes(8).toString('hex');
    const secretPart = randomBytes(32).toString('base64url');
    const now = new Date(this.clock.now()).toISOString();
    this.db
      .prepare(
        `INSERT INTO api_keys (id, name, role, scopes, secret_hash, created_at, created_by, api_version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        input.name.trim(),
        input.role,
        JSON.stringify(input.scopes ?? []),
        hashSecret(secretPart).toString('hex'),
        now,
        createdBy,
        input.apiVersion ?? null,
      );
    this.#changed(id);
    return { key: this.get(id), secret: `ph_${id}_${secretPart}` };
  }

  get(id: string): ApiKey {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    if (row === undefined) throw new PhError('PH_KEY_NOT_FOUND', `There is no API key with id ${id}`, { field: 'id' });
    return toApiKey(row);
  }

  list(includeRevoked = false): ApiKey[] {
    const rows = this.db
      .prepare(`SELECT * FROM api_keys ${includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at DESC, id`)
      .all() as KeyRow[];
    return rows.map(toApiKey);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  revoke(id: string): ApiKey {
    const existing = this.get(id);
    if (existing.revokedAt === null) {
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(new Date(this.clock.now()).toISOString(), id);
      this.#changed(id);
    }
    return this.get(id);
  }

  /** Pins the key to a REST version (null: the latest); the pin travels to every node with the key. */
  pin(id: string, apiVersion: ApiVersion | null): ApiKey {
    this.get(id);
    this.db.prepare('UPDATE api_keys SET api_version = ? WHERE id = ?').run(apiVersion, id);
    this.#changed(id);
    return this.get(id);
  }

  /** Replaces the key's scopes; requests already authenticated keep theirs, the next one gets these. */
  setScopes(id: string, scopes: readonly string[]): ApiKey {
    this.get(id);
    this.db.prepare('UPDATE api_keys SET scopes = ? WHERE id = ?').run(JSON.stringify([...new Set(scopes)]), id);
    this.#changed(id);
    return this.get(id);
  }

  /** The caller for a presented key, or null when the key is unknown, wrong or revoked. */
  verify(presented: string): Caller | null {
    const match = KEY_PATTERN.exec(presented);
    if (match === null) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const live = this.#liveKey(id);
    if (live === null || !timingSafeEqual(live.expected, hashSecret(secret))) return null;
    this.#touch(id);
    return copyCaller(live.caller);
  }

  /** The caller for a key id (used by session tokens), or null when revoked or gone. */
  callerForId(id: string): Caller | null {
    const live = this.#liveKey(id);
    return live === null ? null : copyCaller(live.caller);
  }

  #liveKey(id: string): { expected: Buffer; caller: Caller } | null {
    const cached = this.#live.get(id);
    if (cached !== undefined) return cached;
    const row = this.#byId.get(id);
    if (row === undefined || row.revoked_at !== null) return null;
    const live = { expected: Buffer.from(row.secret_hash, 'hex'), caller: callerFor(row) };
    this.#live.set(id, live);
    return live;
  }

  /**
   * How the fleet table `api-keys` reads and writes this store: a key made or revoked on any node
   * reaches every node's SQLite. A revocation is never undone by a merge: a record that would bring a
   * revoked key back keeps the earlier revocation time.
   */
  replicaSource(): ReplicaSource<ApiKeyRecord> {
    return {
      rows: () => (this.db.prepare('SELECT * FROM api_keys').all() as KeyRow[]).map((row) => [row.id, toRecord(row)] as const),
      apply: (id, record) => {
        this.#live.delete(id);
        if (record === null) {
          this.db.prepare('DELETE FROM api_keys WHERE id = ?').run(id);
          return;
        }
        const wasLive = this.#byId.get(id)?.revoked_at === null;
        this.db
          .prepare(
            `INSERT INTO api_keys (id, name, role, scopes, secret_hash, created_at, created_by, revoked_at, api_version)
             VALUES (@id, @name, @role, @scopes, @secretHash, @createdAt, @createdBy, @revokedAt, @apiVersion)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, scopes = excluded.scopes,
               secret_hash = excluded.secret_hash, revoked_at = coalesce(api_keys.revoked_at, excluded.revoked_at),
               api_version = excluded.api_version`,
          )
          .run({ ...record, id, scopes: JSON.stringify(record.scopes), apiVersion: record.apiVersion ?? null });
        if (wasLive && record.revokedAt !== null) for (const listener of this.#revokedElsewhere) listener(id);
      },
      onLocalChange: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
    };
  }

  /**
   * Hears a key revoked on another node as its record arrives: the live `auth.revoked` event may have
   * been lost (Redis was down), the record is not, so this node closes the key's sockets either way.
   */
  onRevokedElsewhere(listener: (id: string) => void): () => void {
    this.#revokedElsewhere.add(listener);
    return () => this.#revokedElsewhere.delete(listener);
  }

  #changed(id: string): void {
    this.#live.delete(id);
    if (this.#listeners.size === 0) return;
    const row = this.#byId.get(id);
    if (row === undefined) return;
    const record = toRecord(row);
    for (const listener of this.#listeners) listener(id, record);
  }

  #touch(id: string): void {
    const now = this.clock.now();
    if (now - (this.#lastUsedWritten.get(id) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.#lastUsedWritten.set(id, now);
    this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(new Date(now).toISOString(), id);
  }
}

/** Each request gets its own caller: one that changes it must not change the next request's. */
function copyCaller(caller: Caller): Caller {
  return { ...caller, scopes: [...caller.scopes] };
}

function callerFor(row: KeyRow): Caller {
  const caller: Caller = { actor: `key:${row.id}`, keyId: row.id, role: row.role, scopes: JSON.parse(row.scopes) as string[] };
  return row.api_version === null ? caller : { ...caller, apiVersion: row.api_version };
}

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    name: row.name,
    role: row.role,
    scopes: JSON.parse(row.scopes) as string[],
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    apiVersion: row.api_version,
  };
}

function toApiKey(row: KeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    apiVersion: row.api_version,
  };
}
