import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { RawClient, startNode, type Node } from '../realtime/helpers';
import { oauthPost, token } from './oauth-helpers';

describe('OAuth tokens on a fleet of two nodes on one Redis', () => {
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let program: string;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a' } });
    b = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-b' } });
    program = await a.key('operator', 'program');
    await until(async () => (await b.op('cache.stats', {}, program)).status === 200, 5_000, 'the key on node B');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('publishes the same signing keys on every node, so a token minted on one is accepted on the other', async () => {
    const [jwksA, jwksB] = await Promise.all([a, b].map(async (n) => (await fetch(`${n.url}/.well-known/jwks.json`)).json()));
    expect(jwksB).toEqual(jwksA);
    const { body } = await token(a.url, program);
    expect((await b.op('cache.stats', {}, body.access_token)).status).toBe(200);
  });

  it('puts no refresh token and no private key into Redis: hashes and a generation number only', async () => {
    const { body } = await token(a.url, program);
    const client = redis.client();
    await until(async () => (await client.hlen('ph:fleet:oauth-grants:records')) > 0);
    const stored = [
      ...Object.values(await client.hgetall('ph:fleet:oauth-grants:records')),
      ...Object.values(await client.hgetall('ph:fleet:oauth-signing:records')),
    ].join('\n');
    // `phr_<grant id>_<secret>`: the secret is 32 random bytes in base64url (43 characters, which may hold '_').
    const secretPart = (body.refresh_token as string).slice(-43);
    expect(secretPart).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(secretPart);
    expect(stored).toMatch(/"generation":0/);
    expect(stored).not.toMatch(/"d":|PRIVATE KEY/);
  });

  it('ends a grant revoked on one node on the other within a second, its socket there included', async () => {
    const { body } = await token(a.url, program);
    const onB = await RawClient.connect(b.wsUrl, body.access_token);
    const started = performance.now();
    expect((await oauthPost(a.url, '/oauth/revoke', { token: body.refresh_token }, { key: program })).status).toBe(200);
    expect((await onB.closed).code).toBe(1008);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await b.op('cache.stats', {}, body.access_token)).status).toBe(401);
  });

  it('refreshes on the other node, and catches a spent refresh token replayed on a node the rotation has not reached', async () => {
    const first = await token(a.url, program);
    await until(
      async () => (await oauthPost(b.url, '/oauth/introspect', { token: first.body.refresh_token }, { key: program })).body.active === true,
    );
    const second = await token(b.url, program, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    // Replayed at once on A: Redis already holds the spend, whether or not A has the rotation's record yet.
    const replay = await token(a.url, program, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(replay.body.error).toBe('invalid_grant');
    await until(async () => (await b.op('cache.stats', {}, second.body.access_token)).status === 401, 1_000, 'the family ended on B');
  });
});
