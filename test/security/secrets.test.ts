import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { securityMigrations } from '../../main/security';
import { openStore } from '../../main/store';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';

const secretFile = (dataDir: string, name: string): Buffer =>
  Buffer.from(readFileSync(join(dataDir, 'secrets', `${name}.key`), 'utf8').trim(), 'base64');

/** Every byte of the database as a copy would take it: the main file and whatever WAL is beside it. */
function databaseBytes(dataDir: string): Buffer {
  return Buffer.concat(
    readdirSync(dataDir)
      .filter((f) => f.startsWith('pilothouse.db'))
      .map((f) => readFileSync(join(dataDir, f))),
  );
}

const carries = (haystack: Buffer, secret: Buffer): boolean =>
  haystack.includes(secret) ||
  haystack.includes(Buffer.from(secret.toString('base64'))) ||
  haystack.includes(Buffer.from(secret.toString('hex')));

async function session(t: TestPlane, key: string): Promise<string> {
  const res = await fetch(`${t.url}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function forge(secret: Buffer, keyId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('pilothouse')
    .setSubject(keyId)
    .setJti('forged')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(secret);
}

describe('secrets outside the database', () => {
  let t: TestPlane | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('keeps the signing and audit keys in 0600 files, so neither the database nor an admin snapshot of it carries them', async () => {
    t = await startTestPlane();
    const operator = (await t.op('keys.create', { name: 'op', role: 'operator' })).body.secret as string;
    const signing = secretFile(t.dataDir, 'session-signing');
    const auditKey = secretFile(t.dataDir, 'audit-hmac');
    expect(signing.length).toBe(32);
    for (const name of ['session-signing', 'audit-hmac'])
      expect(statSync(join(t.dataDir, 'secrets', `${name}.key`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(t.dataDir, 'secrets')).mode & 0o777).toBe(0o700);

    // The way up: an operator snapshots the app database and downloads it.
    const snap = await t.op('backup.snapshot', { id: 'app' }, operator);
    expect(snap.status).toBe(200);
    const id = snap.body.snapshot.id as string;
    const asOperator = await fetch(`${t.url}/api/v1/backups/snapshots/${id}/download`, {
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(asOperator.status).toBe(403);
    expect(((await asOperator.json()) as { error: { code: string } }).error.code).toBe('PH_FORBIDDEN');

    const asAdmin = await fetch(`${t.url}/api/v1/backups/snapshots/${id}/download`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(asAdmin.status).toBe(200);
    const image = Buffer.from(await asAdmin.arrayBuffer());
    expect(image.subarray(0, 15).toString('latin1')).toBe('SQLite format 3');
    expect(carries(image, signing)).toBe(false);
    expect(carries(image, auditKey)).toBe(false);
    expect(carries(databaseBytes(t.dataDir), signing)).toBe(false);
    expect(carries(databaseBytes(t.dataDir), auditKey)).toBe(false);
  });

  it('deletes the signing secret an earlier version kept in settings, leaves no copy of it in the file, and refuses tokens signed with it', async () => {
    const dir = tempDir('ph-legacy-');
    const dataDir = dir.path;
    const legacy = randomBytes(32);
    const db = openStore({ path: join(dataDir, 'pilothouse.db'), migrations: securityMigrations.filter((m) => m.version === 1) });
    // The admin key as that version stored it (today's store writes columns its schema lacked).
    const adminId = randomBytes(8).toString('hex');
    const adminSecret = randomBytes(32).toString('base64url');
    db.prepare(
      `INSERT INTO api_keys (id, name, role, scopes, secret_hash, created_at, created_by) VALUES (?, 'admin', 'admin', '["*"]', ?, ?, 'test')`,
    ).run(adminId, createHash('sha256').update(adminSecret).digest('hex'), new Date().toISOString());
    const admin = { key: { id: adminId }, secret: `ph_${adminId}_${adminSecret}` };
    db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('session_signing_key', legacy);
    db.close();
    writeFileSync(join(dataDir, 'admin.key'), `${admin.secret}\n`, { mode: 0o600 });
    expect(databaseBytes(dataDir).includes(legacy)).toBe(true);

    t = await startTestPlane({ dataDir });
    const store = t.plane.store.db;
    expect(store.prepare("SELECT count(*) AS n FROM settings WHERE key = 'session_signing_key'").get()).toEqual({ n: 0 });
    expect(databaseBytes(dataDir).includes(legacy)).toBe(false);
    expect(secretFile(dataDir, 'session-signing').equals(legacy)).toBe(false);

    // Anyone who kept a snapshot from before the upgrade cannot sign an admin session with its secret.
    const forged = await t.op('keys.list', {}, await forge(legacy, admin.key.id));
    expect(forged).toMatchObject({ status: 401, body: { error: { code: 'PH_UNAUTHENTICATED' } } });
    expect((await t.op('keys.list', {}, admin.secret)).status).toBe(200);
    await t.stop();
    t = undefined;
    dir.remove();
  });

  it('ends one session on sign-out, every session when an admin rotates the signing secret, and a key’s sessions when it is revoked', async () => {
    t = await startTestPlane();
    const viewer = (await t.op('keys.create', { name: 'v', role: 'viewer' })).body as { key: { id: string }; secret: string };
    const signedOut = await session(t, viewer.secret);
    const other = await session(t, viewer.secret);

    expect(await t.op('sessions.logout', {}, signedOut)).toMatchObject({ status: 200, body: { ended: true } });
    expect((await t.op('system.status', {}, signedOut)).status).toBe(401);
    expect((await t.op('system.status', {}, other)).status).toBe(200);
    // An API key is not a session: logging out with it ends nothing.
    expect(await t.op('sessions.logout', {}, viewer.secret)).toMatchObject({ status: 200, body: { ended: false } });

    const before = secretFile(t.dataDir, 'session-signing');
    expect((await t.op('sessions.rotate', {}, other)).status).toBe(403);
    const adminSession = await session(t, t.adminKey);
    expect(await t.op('sessions.rotate', {}, adminSession)).toMatchObject({ status: 200, body: { rotatedAt: expect.any(String) } });
    expect(secretFile(t.dataDir, 'session-signing').equals(before)).toBe(false);
    expect((await t.op('system.status', {}, other)).status).toBe(401);
    expect((await t.op('system.status', {}, adminSession)).status).toBe(401);
    expect((await t.op('system.status', {}, t.adminKey)).status).toBe(200);

    const fresh = await session(t, viewer.secret);
    expect((await t.op('system.status', {}, fresh)).status).toBe(200);
    await t.op('keys.revoke', { id: viewer.key.id });
    expect((await t.op('system.status', {}, fresh)).status).toBe(401);

    const actions = (await t.op('audit.list', { limit: 20 })).body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['sessions.logout', 'sessions.rotate', 'keys.revoke']));
  });
});
