import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../clock';
import type { ApiKeyStore } from './api-keys';
import type { Caller } from './caller';
import type { Secrets } from './secret-store';

const ISSUER = 'pilothouse';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

/**
 * Short-lived operator session tokens (HS256 JWTs) minted from an API key, so the browser console
 * keeps a token that expires rather than the key itself. A token names its key (`sub`) and itself
 * (`jti`): revoking the key ends every session minted from it, `end(jti)` ends one (sign-out), and
 * rotating the signing secret ends them all. The secret lives in the secret store, never in the
 * database.
 */
export class SessionTokens {
  #secret: Uint8Array;
  readonly #isEnded: Statement<[string], { jti: string }>;

  constructor(
    private readonly db: Database,
    private readonly keys: ApiKeyStore,
    private readonly clock: Clock,
    private readonly secrets: Secrets,
  ) {
    this.#secret = new Uint8Array(secrets.get('session-signing'));
    this.#isEnded = db.prepare('SELECT jti FROM ended_sessions WHERE jti = ?');
    // Ended sessions only matter until the token would have expired anyway.
    db.prepare('DELETE FROM ended_sessions WHERE expires_at < ?').run(Math.floor(clock.now() / 1000));
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
      .sign(this.#secret);
    return { token, expiresAt: new Date(exp * 1000).toISOString(), sessionId };
  }

  /** The caller for a token (the key's current role), or null when bad, expired, ended or its key revoked. */
  async verify(token: string): Promise<Caller | null> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
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

  /** Ends one session (sign-out). Kept until every token it could be has expired. */
  end(sessionId: string): void {
    const expiresAt = Math.floor(this.clock.now() / 1000) + SESSION_TTL_SECONDS;
    this.db.prepare('INSERT OR IGNORE INTO ended_sessions (jti, expires_at) VALUES (?, ?)').run(sessionId, expiresAt);
  }

  /** A new signing secret: every token signed with the old one is refused from now on. */
  rotate(): void {
    this.#secret = new Uint8Array(this.secrets.rotate('session-signing'));
  }
}
