import type { Caller } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { SessionTokens } from './session-tokens';

/** Resolves a bearer credential (an API key or a session token) to a caller, or null. */
export class Authenticator {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly sessions: SessionTokens,
  ) {}

  async authenticate(credential: string | undefined): Promise<Caller | null> {
    if (credential === undefined || credential === '') return null;
    if (credential.startsWith('ph_')) return this.keys.verify(credential);
    return this.sessions.verify(credential);
  }

  static bearer(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
}
