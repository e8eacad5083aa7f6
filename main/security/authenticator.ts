import { PhError } from '../../contract/errors';
import type { ApiKeyStore } from './api-keys';
import type { AuthThrottle, AuthTransport } from './auth-throttle';
import type { Caller } from './caller';
import type { SessionTokens } from './session-tokens';

/** Where a credential came from: failures are counted per client address. */
export interface AuthSource {
  readonly address: string;
  readonly transport: AuthTransport;
}

/**
 * Resolves a bearer credential (an API key or a session token) to a caller, or null. An address
 * that failed too often is refused before its credential is even looked at (PH_AUTH_THROTTLED, with
 * `details.retryAfterSeconds`), so a right guess during the block tells the guesser nothing.
 */
export class Authenticator {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly sessions: SessionTokens,
    private readonly throttle: AuthThrottle,
  ) {}

  async authenticate(credential: string | undefined, from: AuthSource): Promise<Caller | null> {
    if (credential === undefined || credential === '') return null;
    this.assertNotThrottled(from);
    const caller = credential.startsWith('ph_') ? this.keys.verify(credential) : await this.sessions.verify(credential);
    if (caller === null) this.throttle.failure(from.address, from.transport, credential.startsWith('ph_') ? 'api key' : 'session token');
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
