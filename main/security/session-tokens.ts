import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../clock';
import type { Caller } from '../core';
import type { ApiKeyStore } from './api-keys';

const SETTING = 'session_signing_key';
const ISSUER = 'pilothouse';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

/**
 * Short-lived operator session tokens (HS256 JWTs) minted from an API key, so the browser console
 * keeps a token that expires rather than the key itself. A token names its key; revoking the key
 * ends every session minted from it.
 */
export class SessionTokens {
  readonly #secret: Uint8Array;

  constructor(
    db: Database,
    private readonly keys: ApiKeyStore,
    private readonly clock: Clock,
  ) {
    const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(SETTING) as { value: Buffer } | undefined;
    if (row !== undefined) {
      this.#secret = new Uint8Array(row.value);
    } else {
      const secret = randomBytes(32);
      db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run(SETTING, secret);
      this.#secret = new Uint8Array(secret);
    }
  }

  async mint(caller: Caller): Promise<{ token: string; expiresAt: string }> {
    if (caller.keyId === null) throw new Error('Only key holders get session tokens');
    const issuedAt = Math.floor(this.clock.now() / 1000);
    const exp = issuedAt + SESSION_TTL_SECONDS;
    const token = await new SignJWT({ role: caller.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(caller.keyId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .sign(this.#secret);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  async verify(token: string): Promise<Caller | null> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.sub !== 'string') return null;
      return this.keys.callerForId(payload.sub);
    } catch {
      return null;
    }
  }
}
