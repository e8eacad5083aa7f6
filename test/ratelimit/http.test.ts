import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { token } from '../security/oauth-helpers';

const POLICY = /^"([a-z0-9_-]+)";q=(\d+);w=(\d+)$/;
const STATE = /^"([a-z0-9_-]+)";r=(\d+);t=(\d+)$/;

describe('rate-limit tiers over real HTTP', () => {
  let t: TestPlane;
  let key: { id: string; secret: string };
  beforeAll(async () => {
    t = await startTestPlane();
    const created = (await t.op('keys.create', { name: 'integration', role: 'operator' })).body as { key: { id: string }; secret: string };
    key = { id: created.key.id, secret: created.secret };
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = (path: string, secret: string | null) =>
    fetch(`${t.url}${path}`, { headers: secret === null ? {} : { authorization: `Bearer ${secret}` } });

  it('puts RateLimit-Policy and RateLimit on every response: operations, REST, the gateway, a 404, a 401 and public routes', async () => {
    const responses = [
      await fetch(`${t.url}/api/v2/ops/system.status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: '{}',
      }),
      await get('/api/v2/status', key.secret),
      await get('/gw/nothing-registered/x', key.secret),
      await get('/api/v2/no-such-route', key.secret),
      await get('/api/v2/status', 'ph_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro'),
      await get('/healthz', null),
    ];
    for (const res of responses) {
      expect(res.headers.get('ratelimit-policy'), `${res.url} ${res.status}`).toMatch(POLICY);
      expect(res.headers.get('ratelimit'), `${res.url} ${res.status}`).toMatch(STATE);
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, expect.any(Number), 404, 401, 200]);
    const remaining = (res: Response) => Number(STATE.exec(res.headers.get('ratelimit') ?? '')?.[2]);
    expect(remaining(responses[1]!)).toBe(remaining(responses[0]!) - 1);
    expect(POLICY.exec(responses[0]!.headers.get('ratelimit-policy')!)!.slice(1)).toEqual(['premium', '6000', '60']);
  });

  it("spends one budget for a key and an OAuth token narrowed to a lower role: the key's tier and its count", async () => {
    const made = (await t.op('keys.create', { name: 'narrowing program', role: 'operator' })).body as { secret: string };
    const granted = await token(t.url, made.secret, { grant_type: 'client_credentials', scope: 'role:viewer' });
    expect(granted.status).toBe(200);
    const state = (res: Response) => STATE.exec(res.headers.get('ratelimit') ?? '')?.slice(1, 3);
    const byKey = await get('/api/v2/status', made.secret);
    const byToken = await get('/api/v2/status', granted.body.access_token as string);
    expect(byToken.status).toBe(200);
    const [tier, left] = state(byKey) ?? [];
    expect(tier).toBe('premium');
    expect(state(byToken)).toEqual(['premium', String(Number(left) - 1)]);
  });

  it('refuses a key over its tier with 429 PH_RATE_LIMITED and Retry-After, and counts the refusal for that key', async () => {
    expect((await t.op('ratelimit.tiers.save', { tier: { name: 'tiny', limit: 3, windowSeconds: 60, burst: 1 } })).status).toBe(200);
    expect((await t.op('ratelimit.keys.assign', { id: key.id, tier: 'tiny' })).body.key).toMatchObject({
      tier: 'tiny',
      assigned: true,
      limit: 3,
    });
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 6; i += 1) {
      const res = await get('/api/v2/status', key.secret);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(refused).not.toBeNull();
    const retryAfter = Number(refused!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe('PH_RATE_LIMITED');
    expect(refused!.headers.get('ratelimit')).toMatch(/^"tiny";r=0;t=\d+$/);

    const tiers = (await t.op('ratelimit.tiers')).body as {
      keys: { keyId: string; used: number; limit: number; refusedLastDay: number }[];
      backend: string;
    };
    expect(tiers.backend).toBe('memory');
    expect(tiers.keys.find((k) => k.keyId === key.id)).toMatchObject({ used: expect.any(Number), limit: 3, refusedLastDay: 2 });
  });

  it("keeps the console's admin session unlimited, refuses deleting a built-in tier or limiting the unlimited one, and lets only an admin change tiers", async () => {
    for (let i = 0; i < 5; i += 1) expect((await get('/api/v2/status', t.adminKey)).status).toBe(200);
    expect((await t.op('ratelimit.tiers.delete', { name: 'free' })).body.error.code).toBe('PH_RATELIMIT_TIER_BUILTIN');
    const operator = (await t.op('keys.create', { name: 'op2', role: 'operator' })).body.secret as string;
    expect(
      (await t.op('ratelimit.tiers.save', { tier: { name: 'free', limit: 1_000_000, windowSeconds: 1, burst: 0 } }, operator)).status,
    ).toBe(403);
    const limitUnlimited = await t.op('ratelimit.tiers.save', { tier: { name: 'unlimited', limit: 5, windowSeconds: 60, burst: 0 } });
    expect(limitUnlimited.status).toBe(409);
    expect(limitUnlimited.body.error).toMatchObject({ code: 'PH_RATELIMIT_TIER_BUILTIN', field: 'tier.limit' });
    for (let i = 0; i < 8; i += 1) expect((await get('/api/v2/status', t.adminKey)).status).toBe(200);
    expect((await t.op('ratelimit.tiers.delete', { name: 'tiny' })).body).toEqual({ deleted: true, keysMoved: 1 });
    const after = (await t.op('ratelimit.tiers')).body.keys.find((k: { keyId: string }) => k.keyId === key.id);
    expect(after).toMatchObject({ tier: 'premium', assigned: false });
  });
});

describe('a node started without the HTTP rate limit (the baseline of bench/webhooks ratelimit.overhead)', () => {
  it('sends no rate-limit headers and refuses no request, however small the caller tier', async () => {
    const t = await startTestPlane({}, { httpRateLimit: false });
    try {
      expect((await t.op('ratelimit.tiers.save', { tier: { name: 'tiny', limit: 1, windowSeconds: 60, burst: 0 } })).status).toBe(200);
      const created = (await t.op('keys.create', { name: 'bench', role: 'operator' })).body as { key: { id: string }; secret: string };
      expect((await t.op('ratelimit.keys.assign', { id: created.key.id, tier: 'tiny' })).status).toBe(200);
      for (let i = 0; i < 3; i += 1) {
        const res = await fetch(`${t.url}/api/v2/status`, { headers: { authorization: `Bearer ${created.secret}` } });
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit')).toBeNull();
        expect(res.headers.get('ratelimit-policy')).toBeNull();
      }
    } finally {
      await t.stop();
    }
  });
});
