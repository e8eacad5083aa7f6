import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, ClientCredentials, Pilothouse, Transport, type WebSocketFactory } from '../../client/src';
import WebSocket from 'ws';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

/** The client's token handling against the real server (client/src/tokens.ts, http.ts). */
describe('the client’s OAuth tokens', () => {
  let plane: TestPlane;
  let key: string;
  let keyId: string;
  beforeAll(async () => {
    plane = await startTestPlane();
    const made = await plane.op('keys.create', { name: 'program', role: 'operator' });
    key = made.body.secret;
    keyId = made.body.key.id;
  });
  afterAll(async () => {
    await plane?.stop();
  });

  /** Counts the token requests a fetch makes, by grant type. */
  function countingFetch() {
    const grants: string[] = [];
    const counted: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/oauth/token')) grants.push(new URLSearchParams(String(init?.body)).get('grant_type') ?? '');
      return fetch(input, init);
    };
    return { grants, fetch: counted };
  }

  it('refreshes the access token before it expires, with the rotating refresh token', async () => {
    let now = Date.now();
    const { grants, fetch: counted } = countingFetch();
    const tokens = new ClientCredentials({ url: plane.url, apiKey: key, fetch: counted, now: () => now });
    const first = await tokens.token();
    expect(await tokens.token()).toBe(first);
    now += 269_000; // 300 s tokens: still more than 30 s left
    expect(await tokens.token()).toBe(first);
    now += 2_000; // under 30 s left: refreshed before it expires
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(grants).toEqual(['client_credentials', 'refresh_token']);
  });

  it('retries once with a fresh token when the server refuses one (its grant was revoked), and only once', async () => {
    const { grants, fetch: counted } = countingFetch();
    const tokens = new ClientCredentials({ url: plane.url, apiKey: key, fetch: counted });
    const transport = new Transport(plane.url, tokens, counted);
    const before = await tokens.token();
    await fetch(`${plane.url}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${keyId}:${key.slice(20)}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: before }).toString(),
    });
    const stats = await transport.call('cache.stats', {});
    expect(stats).toHaveProperty('namespaces');
    // The revoked grant's refresh failed, so a new client-credentials exchange followed.
    expect(grants).toEqual(['client_credentials', 'refresh_token', 'client_credentials']);

    const revokedKey = await plane.op('keys.create', { name: 'doomed', role: 'viewer' });
    const doomed = new Pilothouse({ url: plane.url, apiKey: revokedKey.body.secret });
    await doomed.call('cache.stats', {});
    await plane.op('keys.revoke', { id: revokedKey.body.key.id });
    const failure = await doomed.call('cache.stats', {}).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect((failure as AuthenticationError).code).toBe('PH_OAUTH_INVALID_CLIENT');
  });

  it('reconnects its socket once with a fresh token when its token is revoked, and rejoins its rooms', async () => {
    const ph = new Pilothouse({ url: plane.url, apiKey: key, WebSocket: WebSocket as unknown as WebSocketFactory });
    await ph.realtime.subscribe('rejoin');
    const first = ph.realtime.welcome;
    const revoked = await ph.tokens.token();
    await fetch(`${plane.url}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${keyId}:${key.slice(20)}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revoked }).toString(),
    });
    await until(() => ph.realtime.connected && ph.realtime.welcome !== first, 5_000, 'a new welcome');
    expect(await ph.tokens.token()).not.toBe(revoked);
    const heard = new Promise((resolve) => ph.realtime.on('message', (m) => resolve(m.data)));
    await plane.op('realtime.publish', { room: 'rejoin', data: { after: 'revocation' } });
    expect(await heard).toEqual({ after: 'revocation' });
    await ph.close();
  });
});
