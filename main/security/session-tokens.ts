import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { SignJWT, jwtVerify } from 'jose';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../clock';
import type { Caller } from '../core';
import type { ReplicaSource } from '../fleet';
import type { ApiKeyStore } from './api-keys';
import type { Secrets } from './secret-store';

const ISSUER = 'pilothouse';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

/** An ended session as the fleet table `ended-sessions` shares it (the id is the token's `jti`). */
export const EndedSessionSchema = Type.Object({ expiresAt: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type EndedSession = Static<typeof EndedSessionSchema>;

/**
 * Short-lived operator session tokens (HS256 JWTs) minted from an API key, so the browser console
 * keeps a token that expires rather than the key itself. A token names its key (`sub`) and itself
 * (`jti`): revoking the key ends every session minted from it, `end(jti)` ends one (sign-out), and
 * rotating the signing secret ends them all. The secret lives in the secret store, never in the
 * database; in a fleet it is derived from the fleet secret (fleet-secrets.ts), read on every call so
 * a rotation made on another node applies here at once, and ended sessions are a fleet table.
 */
export class SessionTokens {
  readonly #isEnded: Statement<[string], { jti: string }>;
  readonly #listeners = new Set<(jti: string, value: EndedSession | null) => void>();
  readonly #endedElsewhere = new Set<(jti: string) => void>();

  constructor(
    private readonly db: Database,
    private readonly keys: ApiKeyStore,
    private readonly clock: Clock,
    private readonly secrets: Secrets,
  ) {
    // Made (or read) at start, not at the first sign-in: the file exists, owner-only, from the first start on.
    secrets.get('session-signing');
    this.#isEnded = db.prepare('SELECT jti FROM ended_sessions WHERE jti = ?');
  }

  async mint(caller: Caller): Promise<{ token: string; expiresAt: string; sessionId: string }> {
    if (caller.keyId === null) throw new Error('Only key holders get session tokens');
    const issuedAt = Math.floor(this.clock.now() / 1000);
    const exp = issuedAt + SESSION_TTL_SECONDS;
    const sessionId = randomBytes(16).toString('base64url');
    const token = await new SignJWT({ role: caller.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(caller.keyId)
      .setJti(sessionId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .sign(this.#secret());
    return { token, expiresAt: new Date(exp * 1000).toISOString(), sessionId };
  }

  /** The caller for a token (the key's current role), or null when bad, expired, ended or its key revoked. */
  async verify(token: string): Promise<Caller | null> {
    try {
      const { payload } = await jwtVerify(token, this.#secret(), {
        issuer: ISSUER,
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string') return null;
      if (this.#isEnded.get(payload.jti) !== undefined) return null;
      const caller = this.keys.callerForId(payload.sub);
      return caller === null ? null : { ...caller, sessionId: payload.jti };
    } catch {
      return null;
    }
  }

  /** Ends one session (sign-out). Kept until the token would have expired anyway; older ones go then. */
  end(sessionId: string): void {
    const now = Math.floor(this.clock.now() / 1000);
    const expiresAt = now + SESSION_TTL_SECONDS;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM ended_sessions WHERE expires_at < ?').run(now);
      this.db.prepare('INSERT OR IGNORE INTO ended_sessions (jti, expires_at) VALUES (?, ?)').run(sessionId, expiresAt);
    })();
    for (const listener of this.#listeners) listener(sessionId, { expiresAt });
  }

  /** A new signing secret: every token signed with the old one is refused from now on. */
  rotate(): void {
    this.secrets.rotate('session-signing');
  }

  /** How the fleet table `ended-sessions` reads and writes this node's ended sessions. */
  replicaSource(): ReplicaSource<EndedSession> {
    return {
      rows: () =>
        (this.db.prepare('SELECT jti, expires_at FROM ended_sessions').all() as { jti: string; expires_at: number }[]).map(
          (row) => [row.jti, { expiresAt: row.expires_at }] as const,
        ),
      apply: (jti, value) => {
        if (value === null) {
          this.db.prepare('DELETE FROM ended_sessions WHERE jti = ?').run(jti);
          return;
        }
        const added = this.db.prepare('INSERT OR IGNORE INTO ended_sessions (jti, expires_at) VALUES (?, ?)').run(jti, value.expiresAt);
        if (added.changes > 0) for (const listener of this.#endedElsewhere) listener(jti);
      },
      onLocalChange: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
    };
  }

  /** Hears a session ended on another node as its record arrives (its sockets here must close too). */
  onEndedElsewhere(listener: (jti: string) => void): () => void {
    this.#endedElsewhere.add(listener);
    return () => this.#endedElsewhere.delete(listener);
  }

  #secret(): Uint8Array {
    return new Uint8Array(this.secrets.get('session-signing'));
  }
}
