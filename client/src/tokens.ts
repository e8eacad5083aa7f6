import type { TokenResponse } from './generated/contract';
import { AuthenticationError, errorFrom } from './errors';

/** Where the client gets the bearer credential for each request and socket. */
export interface TokenSource {
  /** A credential valid now (fetched or refreshed first when needed). */
  token(): Promise<string>;
  /** The server refused `token` (401): the next `token()` gets a fresh one. */
  refused(token: string): void;
  /** Gives up what it holds (revokes the OAuth grant). */
  close(): Promise<void>;
}

/** The API key itself on every request (`auth: 'key'`). */
export class ApiKeyToken implements TokenSource {
  constructor(private readonly apiKey: string) {}
  async token(): Promise<string> {
    return this.apiKey;
  }
  refused(): void {}
  async close(): Promise<void> {}
}

export interface ClientCredentialsOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly fetch: typeof fetch;
  /** Narrower than the key (`role:viewer`, a key scope): docs/oauth.md. */
  readonly scope?: string;
  /** Refresh this long before the access token expires (default 30 s, at most half its life). */
  readonly refreshBeforeSeconds?: number;
  readonly now?: () => number;
}

const KEY_PATTERN = /^ph_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * OAuth 2.0 client credentials with the API key (docs/oauth.md): the key crosses the wire once per
 * grant, requests carry a short-lived access token. The token is refreshed (with the rotating
 * refresh token) before it expires; a refresh that fails (the grant was revoked or expired) falls
 * back to a new client-credentials exchange. Concurrent callers share one exchange.
 */
export class ClientCredentials implements TokenSource {
  #access: { token: string; refreshAt: number } | null = null;
  #refreshToken: string | null = null;
  #pending: Promise<string> | null = null;
  readonly #basic: string;
  readonly #now: () => number;

  constructor(private readonly options: ClientCredentialsOptions) {
    const match = KEY_PATTERN.exec(options.apiKey);
    if (match === null) throw new AuthenticationError('PH_UNAUTHENTICATED', 'The API key is not in the ph_<id>_<secret> form', 0);
    this.#basic = `Basic ${btoa(`${match[1]}:${match[2]}`)}`;
    this.#now = options.now ?? Date.now;
  }

  async token(): Promise<string> {
    if (this.#access !== null && this.#now() < this.#access.refreshAt) return this.#access.token;
    this.#pending ??= this.#obtain().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  refused(token: string): void {
    if (this.#access?.token === token) this.#access = null;
  }

  async close(): Promise<void> {
    const refresh = this.#refreshToken;
    this.#access = null;
    this.#refreshToken = null;
    if (refresh === null) return;
    await this.#post('/oauth/revoke', { token: refresh, token_type_hint: 'refresh_token' }).catch(() => undefined);
  }

  async #obtain(): Promise<string> {
    if (this.#refreshToken !== null) {
      try {
        return this.#keep(await this.#grant({ grant_type: 'refresh_token', refresh_token: this.#refreshToken }));
      } catch (err) {
        if (!(err instanceof AuthenticationError)) throw err;
        this.#refreshToken = null;
      }
    }
    return this.#keep(await this.#grant({ grant_type: 'client_credentials' }));
  }

  #grant(fields: Record<string, string>): Promise<TokenResponse> {
    return this.#post(
      '/oauth/token',
      this.options.scope === undefined ? fields : { ...fields, scope: this.options.scope },
    ) as Promise<TokenResponse>;
  }

  #keep(answer: TokenResponse): string {
    const before = Math.min(this.options.refreshBeforeSeconds ?? 30, answer.expires_in / 2);
    this.#access = { token: answer.access_token, refreshAt: this.#now() + (answer.expires_in - before) * 1000 };
    this.#refreshToken = answer.refresh_token;
    return answer.access_token;
  }

  async #post(path: string, fields: Record<string, string>): Promise<unknown> {
    const res = await this.options.fetch(`${this.options.url}${path}`, {
      method: 'POST',
      headers: { authorization: this.#basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    const text = await res.text();
    const body = text === '' ? null : (JSON.parse(text) as unknown);
    if (!res.ok) throw errorFrom(res.status, body, res.headers.get('retry-after'));
    return body;
  }
}
