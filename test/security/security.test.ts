import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { statSync, readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ApiKeyStore,
  AuditLog,
  SecretStore,
  SessionTokens,
  bootstrapAdminKey,
  securityMigrations,
  SESSION_TTL_SECONDS,
} from '../../main/security';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

function fakeClock(start = Date.parse('2026-11-24T00:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('security', () => {
  let dir: { path: string; remove: () => void };
  let db: Database;
  let clock: ReturnType<typeof fakeClock>;
  let keys: ApiKeyStore;
  let audit: AuditLog;
  let secrets: SecretStore;

  beforeEach(() => {
    dir = tempDir();
    db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations });
    clock = fakeClock();
    keys = new ApiKeyStore(db, clock);
    audit = new AuditLog(db, clock, { key: randomBytes(32), headPath: null });
    secrets = new SecretStore(dir.path);
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  it('issues ph_<id>_<secret> keys and stores only a hash of the secret', () => {
    const { key, secret } = keys.create({ name: 'inventory', role: 'operator', scopes: ['gateway:inventory'] }, 'test');
    expect(secret).toMatch(/^ph_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const stored = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(key.id) as Record<string, string>;
    const secretPart = secret.slice(20);
    expect(JSON.stringify(stored)).not.toContain(secretPart);
    expect(stored.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.verify(secret)).toEqual({ actor: `key:${key.id}`, keyId: key.id, role: 'operator', scopes: ['gateway:inventory'] });
  });

  it('refuses wrong, malformed and revoked keys', () => {
    const { key, secret } = keys.create({ name: 'a', role: 'viewer' }, 'test');
    expect(keys.verify(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(keys.verify('ph_nothex_secret')).toBeNull();
    expect(keys.verify('')).toBeNull();
    keys.revoke(key.id);
    expect(keys.verify(secret)).toBeNull();
    expect(keys.list().map((k) => k.id)).not.toContain(key.id);
    expect(keys.list(true).find((k) => k.id === key.id)?.revokedAt).not.toBeNull();
  });

  it('answers PH_KEY_NOT_FOUND for revoking a key that does not exist', () => {
    expect(() => keys.revoke('0000000000000000')).toThrowError(expect.objectContaining({ code: 'PH_KEY_NOT_FOUND' }));
  });

  it('records last use at most once a minute', () => {
    const { key, secret } = keys.create({ name: 'a', role: 'viewer' }, 'test');
    keys.verify(secret);
    const first = keys.get(key.id).lastUsedAt;
    clock.advance(10_000);
    keys.verify(secret);
    expect(keys.get(key.id).lastUsedAt).toBe(first);
    clock.advance(60_000);
    keys.verify(secret);
    expect(keys.get(key.id).lastUsedAt).not.toBe(first);
  });

  it('chains every audit row to the one before and detects an edit made behind its back', () => {
    for (let i = 0; i < 5; i += 1) audit.append({ actor: 'key:abc', action: 'keys.create', target: `k${i}`, outcome: 'ok' });
    expect(audit.verify()).toMatchObject({ intact: true, rows: 5, firstBad: null });
    expect(() => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 3').run()).toThrow(/append-only/);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").run();
    expect(audit.verify()).toMatchObject({ intact: false, firstBad: { seq: 3, reason: 'hash' } });
  });

  it('pages the audit log newest first', () => {
    for (let i = 0; i < 7; i += 1) audit.append({ actor: 'system', action: `a${i}`, outcome: 'ok' });
    const first = audit.list({ limit: 3 });
    expect(first.total).toBe(7);
    expect(first.entries.map((e) => e.seq)).toEqual([7, 6, 5]);
    expect(audit.list({ limit: 3, beforeSeq: 5 }).entries.map((e) => e.seq)).toEqual([4, 3, 2]);
  });

  it('filters the audit log by actor, action, a part of the target and time, with totals that match', () => {
    const start = clock.now();
    for (let i = 0; i < 12; i += 1) {
      audit.append({
        actor: i % 2 === 0 ? 'key:ops' : 'system',
        action: i % 3 === 0 ? 'keys.revoke' : 'cache.clear',
        target: `orders-${i}`,
        outcome: 'ok',
      });
      clock.advance(60_000);
    }
    const byOps = audit.list({ actor: 'key:ops', limit: 2 });
    expect(byOps.total).toBe(6);
    expect(byOps.entries.map((e) => e.target)).toEqual(['orders-10', 'orders-8']);
    const older = audit.list({ actor: 'key:ops', limit: 10, beforeSeq: byOps.entries[1]?.seq as number });
    expect(older.entries.map((e) => e.target)).toEqual(['orders-6', 'orders-4', 'orders-2', 'orders-0']);
    expect(audit.list({ action: 'keys.revoke' }).total).toBe(4);
    expect(audit.list({ target: 'orders-1' }).entries.map((e) => e.target)).toEqual(['orders-11', 'orders-10', 'orders-1']);
    const window = audit.list({ since: new Date(start + 3 * 60_000).toISOString(), until: new Date(start + 6 * 60_000).toISOString() });
    expect(window.entries.map((e) => e.target)).toEqual(['orders-5', 'orders-4', 'orders-3']);
    expect(window.total).toBe(3);
  });

  it('mints session tokens that expire and die with their key', async () => {
    const sessions = new SessionTokens(db, keys, clock, secrets);
    const { key, secret } = keys.create({ name: 'op', role: 'operator' }, 'test');
    const caller = keys.verify(secret)!;
    const { token } = await sessions.mint(caller);
    expect((await sessions.verify(token))?.keyId).toBe(key.id);
    expect(await sessions.verify(`${token}x`)).toBeNull();
    clock.advance((SESSION_TTL_SECONDS + 1) * 1000);
    expect(await sessions.verify(token)).toBeNull();
    clock.advance(-(SESSION_TTL_SECONDS + 1) * 1000);
    keys.revoke(key.id);
    expect(await sessions.verify(token)).toBeNull();
  });

  it('keeps the session signing key across restarts, in a 0600 file and not in the database', async () => {
    const { secret } = keys.create({ name: 'op', role: 'operator' }, 'test');
    const { token } = await new SessionTokens(db, keys, clock, secrets).mint(keys.verify(secret)!);
    expect(await new SessionTokens(db, keys, clock, new SecretStore(dir.path)).verify(token)).not.toBeNull();
    expect(statSync(secrets.path('session-signing')).mode & 0o777).toBe(0o600);
    expect(statSync(secrets.dir).mode & 0o777).toBe(0o700);
    expect(db.prepare('SELECT count(*) AS n FROM settings').get()).toEqual({ n: 0 });
  });

  it('ends one session on sign-out and every session when the signing secret rotates', async () => {
    const sessions = new SessionTokens(db, keys, clock, secrets);
    const caller = keys.verify(keys.create({ name: 'op', role: 'operator' }, 'test').secret)!;
    const first = await sessions.mint(caller);
    const second = await sessions.mint(caller);
    expect((await sessions.verify(first.token))?.sessionId).toBe(first.sessionId);
    sessions.end(first.sessionId);
    expect(await sessions.verify(first.token)).toBeNull();
    expect(await sessions.verify(second.token)).not.toBeNull();
    sessions.rotate();
    expect(await sessions.verify(second.token)).toBeNull();
    expect(await sessions.verify((await sessions.mint(caller)).token)).not.toBeNull();
  });

  it('writes the bootstrap admin key, owner-only, once, when there are no keys', async () => {
    const path = await bootstrapAdminKey(dir.path, keys, audit);
    expect(path).toBe(join(dir.path, 'admin.key'));
    const content = readFileSync(path!, 'utf8');
    expect(content).toMatch(/^ph_[0-9a-f]{16}_\S+\n$/);
    expect(statSync(path!).mode & 0o777).toBe(0o600);
    expect(keys.verify(content.trim())?.role).toBe('admin');
    expect(await bootstrapAdminKey(dir.path, keys, audit)).toBeNull();
    expect(audit.list().entries[0]).toMatchObject({ actor: 'system', action: 'keys.create' });
  });
});
