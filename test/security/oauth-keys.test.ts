import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../main/logger';
import { Metrics } from '../../main/monitoring';
import { ApiKeyStore, AuthThrottle, OAuthServer, securityMigrations } from '../../main/security';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

const HOUR = 3_600_000;

describe('OAuth signing keys: derived, rotated with overlap', () => {
  const dirs: { remove: () => void }[] = [];
  const dbs: Database[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    for (const dir of dirs.splice(0)) dir.remove();
  });

  function server(root: Buffer, clock: { now: () => number }) {
    const dir = tempDir('ph-oauth-');
    dirs.push(dir);
    const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations });
    dbs.push(db);
    const keys = new ApiKeyStore(db, clock);
    const throttle = new AuthThrottle({ clock, logger: createLogger('silent'), registry: new Metrics().registry, audit: () => undefined });
    const oauth = new OAuthServer({ db, keys, throttle, clock, root, options: { accessTtlSeconds: 60, rotateKeysEveryMs: HOUR } });
    const key = keys.create({ name: 'program', role: 'operator' }, 'test').key;
    return { oauth, keyId: key.id };
  }

  it('signs with the key published as next before the rotation, and keeps the previous one until its tokens have expired', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = { now: () => now };
    const { oauth, keyId } = server(randomBytes(32), clock);
    const before = oauth.jwks();
    expect(before.keys).toHaveLength(2);

    now += HOUR - 30_000;
    const old = await oauth.accessTokens.mint(keyId, 'g1', { role: 'viewer', scopes: [] });
    expect(decodeProtectedHeader(old.token).kid).toBe(before.keys[0]?.kid);

    now += 30_000;
    const fresh = await oauth.accessTokens.mint(keyId, 'g1', { role: 'viewer', scopes: [] });
    // A verifier that cached the set before the rotation already holds the new key.
    const cached = createLocalJWKSet(before);
    await expect(jwtVerify(fresh.token, cached, { currentDate: new Date(now) })).resolves.toBeDefined();
    expect(decodeProtectedHeader(fresh.token).kid).toBe(before.keys[1]?.kid);

    const during = oauth.jwks();
    expect(during.keys.map((k) => k.kid).slice(0, 2)).toEqual(before.keys.map((k) => k.kid));
    expect(during.keys).toHaveLength(3);
    expect(await oauth.accessTokens.claims(old.token)).not.toBeNull();

    now += 121_000; // past the old token's expiry (60 s) and the skew allowed (60 s)
    const after = oauth.jwks();
    expect(after.keys.map((k) => k.kid)).toEqual(during.keys.slice(1).map((k) => k.kid));
    expect(await oauth.accessTokens.claims(old.token)).toBeNull();
  });

  it('derives the same keys from the same root on every node, and other keys from another root', () => {
    const clock = { now: () => Date.now() };
    const root = randomBytes(32);
    const a = server(root, clock).oauth.jwks();
    const b = server(root, clock).oauth.jwks();
    const c = server(randomBytes(32), clock).oauth.jwks();
    expect(b).toEqual(a);
    expect(c.keys.map((k) => k.kid)).not.toContain(a.keys[0]?.kid);
  });

  it('refuses a token whose signature, issuer or type was changed', async () => {
    const clock = { now: () => Date.now() };
    const { oauth, keyId } = server(randomBytes(32), clock);
    const { token } = await oauth.accessTokens.mint(keyId, 'g1', { role: 'operator', scopes: [] });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    forged.scope = 'role:admin';
    const widened = `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
    expect(await oauth.verify(widened)).toBeNull();
    const otherNode = server(randomBytes(32), clock);
    const foreign = await otherNode.oauth.accessTokens.mint(keyId, 'g1', { role: 'operator', scopes: [] });
    expect(await oauth.verify(foreign.token)).toBeNull();
    expect(await oauth.verify(token)).toMatchObject({ keyId, role: 'operator', sessionId: 'oauth:g1' });
  });
});
