import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Jwks } from '../../contract/oauth';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { RawClient } from '../realtime/helpers';
import { oauthPost, token } from './oauth-helpers';

/** The OAuth 2.0 endpoints against the real server (docs/oauth.md). */
describe('OAuth 2.0 client credentials against the real server', () => {
  let plane: TestPlane;
  let operator: string;
  let operatorId: string;
  let other: string;
  let scoped: string;

  const bearerOp = (name: string, accessToken: string, input: unknown = {}) => plane.op(name, input, accessToken);

  beforeAll(async () => {
    plane = await startTestPlane({}, { authThrottle: { maxFailures: 5 } });
    const made = await plane.op('keys.create', { name: 'program', role: 'operator' });
    operator = made.body.secret;
    operatorId = made.body.key.id;
    other = (await plane.op('keys.create', { name: 'another program', role: 'operator' })).body.secret;
    scoped = (await plane.op('keys.create', { name: 'gateway user', role: 'viewer', scopes: ['gateway:web', 'room:ops'] })).body.secret;
  });
  afterAll(async () => {
    await plane?.stop();
  });

  it('exchanges client credentials for an EdDSA access token (kid in its header) and a refresh token, not to be cached', async () => {
    const res = await token(plane.url, operator);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'role:operator' });
    expect(res.body.refresh_token).toMatch(/^phr_[0-9a-f]{32}_/);
    const header = decodeProtectedHeader(res.body.access_token);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(typeof header.kid).toBe('string');
  });

  it('accepts the access token as a bearer credential on the HTTP API and at /ws', async () => {
    const { body } = await token(plane.url, operator);
    expect((await bearerOp('cache.stats', body.access_token)).status).toBe(200);
    const socket = await RawClient.connect(`${plane.url.replace('http', 'ws')}/ws`, body.access_token);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    socket.close();
  });

  it('verifies a token with nothing but the published JWKS, fetched live or held locally', async () => {
    const { body } = await token(plane.url, operator);
    const remote = createRemoteJWKSet(new URL(`${plane.url}/.well-known/jwks.json`));
    const viaRemote = await jwtVerify(body.access_token, remote, { issuer: 'pilothouse', audience: 'pilothouse', algorithms: ['EdDSA'] });
    expect(viaRemote.payload).toMatchObject({ sub: operatorId, client_id: operatorId, scope: 'role:operator' });
    const jwks = (await (await fetch(`${plane.url}/.well-known/jwks.json`)).json()) as Jwks;
    expect(jwks.keys.every((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && !('d' in k))).toBe(true);
    const viaLocal = await jwtVerify(body.access_token, createLocalJWKSet(jwks));
    expect(viaLocal.protectedHeader.kid).toBe(decodeProtectedHeader(body.access_token).kid);
  });

  it('answers RFC 6749 §5.2 errors: invalid_client with 401 and WWW-Authenticate, invalid_request, unsupported_grant_type', async () => {
    const none = await oauthPost(plane.url, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="pilothouse"/);
    expect(none.body).toEqual({ error: 'invalid_client', error_description: expect.any(String), code: 'PH_OAUTH_INVALID_CLIENT' });

    const password = await token(plane.url, operator, { grant_type: 'password', username: 'a', password: 'b' });
    expect(password).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type', code: 'PH_OAUTH_UNSUPPORTED_GRANT_TYPE' } });
    const missing = await token(plane.url, operator, {});
    expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const json = await fetch(`${plane.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${operatorId}:${operator.slice(20)}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    const repeated = await fetch(`${plane.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${operatorId}:${operator.slice(20)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&grant_type=client_credentials',
    });
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('lets a scope only narrow: a lower role or fewer key scopes, never more (invalid_scope)', async () => {
    const viewer = await token(plane.url, operator, { grant_type: 'client_credentials', scope: 'role:viewer' });
    expect(viewer.body.scope).toBe('role:viewer');
    expect((await bearerOp('cache.get', viewer.body.access_token, { namespace: 'n', key: 'k' })).status).toBe(403);
    expect((await bearerOp('cache.stats', viewer.body.access_token)).status).toBe(200);

    const higher = await token(plane.url, operator, { grant_type: 'client_credentials', scope: 'role:admin' });
    expect(higher).toMatchObject({ status: 400, body: { error: 'invalid_scope', code: 'PH_OAUTH_INVALID_SCOPE' } });
    const wider = await token(plane.url, scoped, { grant_type: 'client_credentials', scope: 'gateway' });
    expect(wider).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const fewer = await token(plane.url, scoped, { grant_type: 'client_credentials', scope: 'room:ops' });
    expect(fewer.body.scope).toBe('role:viewer room:ops');

    // A refresh may narrow the access token further, but not widen it past the grant.
    const refreshWider = await token(plane.url, scoped, {
      grant_type: 'refresh_token',
      refresh_token: fewer.body.refresh_token,
      scope: 'gateway:web',
    });
    expect(refreshWider).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });

  it("narrows a refreshed token to the key's scopes as they are now, and reports the narrower scope", async () => {
    const made = await plane.op('keys.create', { name: 'narrowed later', role: 'viewer', scopes: ['room:ops', 'gateway:web'] });
    const first = await token(plane.url, made.body.secret, { grant_type: 'client_credentials' });
    expect(first.body.scope).toBe('role:viewer room:ops gateway:web');
    expect((await plane.op('keys.update', { id: made.body.key.id, scopes: ['room:ops'] })).status).toBe(200);
    const refreshed = await token(plane.url, made.body.secret, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe('role:viewer room:ops');
    const seen = await oauthPost(plane.url, '/oauth/introspect', { token: refreshed.body.access_token }, { key: made.body.secret });
    expect(seen.body).toMatchObject({ active: true, scope: 'role:viewer room:ops' });
  });

  it('rotates the refresh token on use, and a reused one revokes its whole family (RFC 6749 §10.4)', async () => {
    const first = await token(plane.url, operator);
    const second = await token(plane.url, operator, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect((await bearerOp('cache.stats', second.body.access_token)).status).toBe(200);

    const replay = await token(plane.url, operator, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant', code: 'PH_OAUTH_INVALID_GRANT' } });
    // The family is gone: the live refresh token and every access token minted from it.
    const afterReplay = await token(plane.url, operator, { grant_type: 'refresh_token', refresh_token: second.body.refresh_token });
    expect(afterReplay.body.error).toBe('invalid_grant');
    expect((await bearerOp('cache.stats', second.body.access_token)).status).toBe(401);
    expect((await bearerOp('cache.stats', first.body.access_token)).status).toBe(401);
  });

  it("refuses another client's refresh token (invalid_grant) and leaves it working for its own client", async () => {
    const mine = await token(plane.url, operator);
    const stolen = await token(plane.url, other, { grant_type: 'refresh_token', refresh_token: mine.body.refresh_token });
    expect(stolen).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const own = await token(plane.url, operator, { grant_type: 'refresh_token', refresh_token: mine.body.refresh_token });
    expect(own.status).toBe(200);
  });

  it('revokes (RFC 7009) an access token: the API refuses it and its open socket closes with 1008 within a second', async () => {
    const { body } = await token(plane.url, operator);
    const socket = await RawClient.connect(`${plane.url.replace('http', 'ws')}/ws`, body.access_token);
    const started = performance.now();
    const revoked = await oauthPost(
      plane.url,
      '/oauth/revoke',
      { token: body.access_token, token_type_hint: 'access_token' },
      { key: operator },
    );
    expect(revoked.status).toBe(200);
    expect((await socket.closed).code).toBe(1008);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await bearerOp('cache.stats', body.access_token)).status).toBe(401);
    const refresh = await token(plane.url, operator, { grant_type: 'refresh_token', refresh_token: body.refresh_token });
    expect(refresh.body.error).toBe('invalid_grant');
    // Unknown tokens are answered alike (RFC 7009 §2.2).
    expect((await oauthPost(plane.url, '/oauth/revoke', { token: 'nonsense' }, { key: operator })).status).toBe(200);
  });

  it("leaves another client's token alone when that client asks to revoke it", async () => {
    const { body } = await token(plane.url, operator);
    expect((await oauthPost(plane.url, '/oauth/revoke', { token: body.refresh_token }, { key: other })).status).toBe(200);
    expect((await bearerOp('cache.stats', body.access_token)).status).toBe(200);
  });

  it('introspects (RFC 7662) live tokens of its own key, and answers active:false once revoked or for another key', async () => {
    const { body } = await token(plane.url, operator, { grant_type: 'client_credentials', scope: 'role:viewer' });
    const access = await oauthPost(plane.url, '/oauth/introspect', { token: body.access_token }, { key: operator });
    expect(access.body).toMatchObject({ active: true, token_type: 'access_token', scope: 'role:viewer', client_id: operatorId });
    const refresh = await oauthPost(plane.url, '/oauth/introspect', { token: body.refresh_token }, { key: operator });
    expect(refresh.body).toMatchObject({ active: true, token_type: 'refresh_token', client_id: operatorId });
    expect((await oauthPost(plane.url, '/oauth/introspect', { token: body.access_token }, { key: other })).body).toEqual({ active: false });
    await oauthPost(plane.url, '/oauth/revoke', { token: body.refresh_token }, { key: operator });
    expect((await oauthPost(plane.url, '/oauth/introspect', { token: body.access_token }, { key: operator })).body).toEqual({
      active: false,
    });
  });

  it('keeps access-token sockets open when the session secret rotates, while session sockets close', async () => {
    const { body } = await token(plane.url, operator);
    const wsUrl = `${plane.url.replace('http', 'ws')}/ws`;
    const withToken = await RawClient.connect(wsUrl, body.access_token);
    const session = await (
      await fetch(`${plane.url}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${operator}` } })
    ).json();
    const withSession = await RawClient.connect(wsUrl, (session as { token: string }).token);
    expect((await plane.op('sessions.rotate')).status).toBe(200);
    expect((await withSession.closed).code).toBe(1008);
    expect(await withToken.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect((await bearerOp('cache.stats', body.access_token)).status).toBe(200);
    withToken.close();
  });

  it('ends every access token of a key when the key is revoked', async () => {
    const made = await plane.op('keys.create', { name: 'short-lived', role: 'viewer' });
    const { body } = await token(plane.url, made.body.secret);
    expect((await bearerOp('cache.stats', body.access_token)).status).toBe(200);
    await plane.op('keys.revoke', { id: made.body.key.id });
    expect((await bearerOp('cache.stats', body.access_token)).status).toBe(401);
  });

  it('counts failed client authentication in the failed-authentication throttle (429 temporarily_unavailable, Retry-After)', async () => {
    const wrong = `Basic ${Buffer.from(`${operatorId}:${'x'.repeat(43)}`).toString('base64')}`;
    // Earlier tests presented revoked tokens (failures too), so the block may start before the fifth wrong secret.
    const answers: number[] = [];
    for (let i = 0; i < 6; i += 1)
      answers.push((await oauthPost(plane.url, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: wrong })).status);
    expect(answers[0]).toBe(401);
    expect(answers.at(-1)).toBe(429);
    expect(answers.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    const blocked = await token(plane.url, operator);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ error: 'temporarily_unavailable', code: 'PH_AUTH_THROTTLED' });
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
