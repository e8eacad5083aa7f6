import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeyStore } from './api-keys';
import type { AuditLog } from './audit-log';
import { systemCaller } from './caller';

export const ADMIN_KEY_FILE = 'admin.key';

/**
 * On a first start with no keys at all, a headless node would be unreachable: create one admin key
 * and write it (the key alone, one line) to `<data-dir>/admin.key`, readable by the owner only.
 * Returns the file path when a key was created.
 *
 * An `admin.key` already there is never overwritten: a store with no keys beside it means the
 * database was lost or replaced, and that key is what opens the database once it is restored. The
 * new key then goes to `admin-<key id>.key`.
 */
export function bootstrapAdminKey(dataDir: string, keys: ApiKeyStore, audit: AuditLog): string | null {
  if (keys.count() > 0) return null;
  const { key, secret } = keys.create({ name: 'bootstrap admin', role: 'admin', scopes: ['*'] }, systemCaller.actor);
  const path = writeKeyFile(dataDir, key.id, secret);
  audit.append({ actor: systemCaller.actor, action: 'keys.create', target: key.id, outcome: 'ok', detail: 'bootstrap admin key' });
  return path;
}

/** Writes a fresh admin key to `admin.key`, or beside it when that file exists (exclusive create, 0600). */
export function writeKeyFile(dataDir: string, keyId: string, secret: string): string {
  for (const name of [ADMIN_KEY_FILE, `admin-${keyId}.key`]) {
    const path = join(dataDir, name);
    try {
      writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`Both ${ADMIN_KEY_FILE} and admin-${keyId}.key exist in ${dataDir}`);
}
