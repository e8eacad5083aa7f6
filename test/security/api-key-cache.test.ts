import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyStore, securityMigrations } from '../../main/security';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

// The per-request key check keeps live keys in memory; these pin that no change to a key's row
// (local revocation, a record arriving from the fleet, a deletion) is missed by the next check.
describe('verified API keys held in memory', () => {
  const opened: { db: Database; dir: { remove: () => void } }[] = [];
  afterEach(() => {
    for (const { db, dir } of opened.splice(0)) {
      db.close();
      dir.remove();
    }
  });

  function store(): { keys: ApiKeyStore; db: Database } {
    const dir = tempDir();
    const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations });
    opened.push({ db, dir });
    return { keys: new ApiKeyStore(db, { now: () => Date.now() }), db };
  }

  it('refuses a key on the first request after its revocation on this node', () => {
    const { keys } = store();
    const { key, secret } = keys.create({ name: 'lan-program', role: 'operator' }, 'test');
    expect(keys.verify(secret)?.keyId).toBe(key.id);
    keys.revoke(key.id);
    expect(keys.verify(secret)).toBeNull();
    expect(keys.callerForId(key.id)).toBeNull();
  });

  it('refuses a key as soon as a revocation from another node is applied', () => {
    const { keys } = store();
    const { key, secret } = keys.create({ name: 'lan-program', role: 'operator' }, 'test');
    expect(keys.verify(secret)?.role).toBe('operator');
    const source = keys.replicaSource();
    const record = [...source.rows()].find(([id]) => id === key.id)?.[1];
    if (record === undefined) throw new Error('the key has no record');
    source.apply(key.id, { ...record, revokedAt: new Date().toISOString() });
    expect(keys.verify(secret)).toBeNull();
  });

  it('serves the role and scopes a fleet record changed, not the ones it had read before', () => {
    const { keys } = store();
    const { key, secret } = keys.create({ name: 'lan-program', role: 'operator', scopes: ['cache'] }, 'test');
    expect(keys.verify(secret)).toMatchObject({ role: 'operator', scopes: ['cache'] });
    const source = keys.replicaSource();
    const record = [...source.rows()].find(([id]) => id === key.id)?.[1];
    if (record === undefined) throw new Error('the key has no record');
    source.apply(key.id, { ...record, role: 'viewer', scopes: [] });
    expect(keys.verify(secret)).toMatchObject({ role: 'viewer', scopes: [] });
    source.apply(key.id, null);
    expect(keys.verify(secret)).toBeNull();
  });

  it('still refuses a wrong secret for a key it holds', () => {
    const { keys } = store();
    const { secret } = keys.create({ name: 'lan-program', role: 'admin' }, 'test');
    expect(keys.verify(secret)).not.toBeNull();
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(keys.verify(wrong)).toBeNull();
  });

  it('hands out a copy, so a caller changed by one request does not reach the next', () => {
    const { keys } = store();
    const { secret } = keys.create({ name: 'lan-program', role: 'viewer' }, 'test');
    const first = keys.verify(secret) as { role: string };
    first.role = 'admin';
    expect(keys.verify(secret)?.role).toBe('viewer');
  });
});
