import { PhError } from '../../contract/errors';
import type { Caller } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { AuthThrottle, AuthTransport } from './auth-throttle';
import { ACCESS_TOKEN_PREFIX } from './oauth-access-tokens';
import type { SessionTokens } from './session-tokens';

/** Where a credential came from: failures are counted per client address. */
export interface AuthSource {
  readonly address: string;
  readonly transport: AuthTransport;
}

/** Verifies OAuth access tokens (oauth-server.ts); absent where none are issued. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<Caller | null>;
}

/**
 * Resolves a bearer credential (an API key, a session token or an OAuth access token) to a caller, or null. An address
 * that failed too often is refused before its credential is even looked at (PH_AUTH_THROTTLED, with
 * `details.retryAfterSeconds`), so a right guess during the block tells the guesser nothing.
 */
export class Authenticator {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly sessions: SessionTokens,
    private readonly throttle: AuthThrottle,
    private readonly accessTokens: AccessTokenVerifier | null = null,
  ) {}

  async authenticate(credential: string | undefined, from: AuthSource): Promise<Caller | null> {
    if (credential === undefined || credential === '') return null;
    this.assertNotThrottled(from);
    const kind = credential.startsWith('ph_')
      ? 'api key'
      : this.accessTokens !== null && credential.startsWith(ACCESS_TOKEN_PREFIX)
        ? 'access token'
        : 'session token';
    const caller =
      kind === 'api key'
        ? this.keys.verify(credential)
        : kind === 'access token'
          ? await (this.accessTokens as AccessTokenVerifier).verify(credential)
          : await this.sessions.verify(credential);
    if (caller === null) this.throttle.failure(from.address, from.transport, kind);
    return caller;
  }

  /** Throws PH_AUTH_THROTTLED while the address is blocked. */
  assertNotThrottled(from: AuthSource): void {
    const wait = this.throttle.retryAfterSeconds(from.address, from.transport);
    if (wait === null) return;
    throw new PhError('PH_AUTH_THROTTLED', `Too many failed sign-ins from this address; try again in ${wait} s`, {
      details: { retryAfterSeconds: wait },
    });
  }

  static bearer(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
}
