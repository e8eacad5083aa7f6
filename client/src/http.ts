import { errorFrom, UnavailableError } from './errors';
import type { OperationInput, OperationName, OperationOutput } from './generated/contract';
import type { TokenSource } from './tokens';

/**
 * Requests to the server with the current bearer credential. A 401 is retried once with a fresh
 * credential (the access token expired early, or was revoked and the grant can be renewed); a
 * second 401 is the caller's.
 */
export class Transport {
  constructor(
    readonly url: string,
    private readonly tokens: TokenSource,
    private readonly fetchImpl: typeof fetch,
  ) {}

  /** Any operation of the contract, typed by it: `POST /api/v2/ops/<name>`. */
  call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationOutput<N>> {
    return this.request('POST', `/api/v2/ops/${name}`, input) as Promise<OperationOutput<N>>;
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      const token = await this.tokens.token();
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        throw new UnavailableError('PH_UNAVAILABLE', `No answer from ${this.url}: ${(err as Error).message}`, 0);
      }
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        this.tokens.refused(token);
        continue;
      }
      const text = await res.text();
      const parsed = text === '' ? null : (JSON.parse(text) as unknown);
      if (!res.ok) throw errorFrom(res.status, parsed, res.headers.get('retry-after'));
      return parsed;
    }
  }
}
