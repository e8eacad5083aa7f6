import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemCaller } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { AuditLog } from './audit-log';

export const ADMIN_KEY_FILE = 'admin.key';

/**
 * On a first start with no keys at all, a headless node would be unreachable: create one admin key
 * and write it (the key alone, one line) to `<data-dir>/admin.key`, readable by the owner only.
 * Returns the file path when a key was created.
 */
export function bootstrapAdminKey(dataDir: string, keys: ApiKeyStore, audit: AuditLog): string | null {
  if (keys.count() > 0) return null;
  const { key, secret } = keys.create({ name: 'bootstrap admin', role: 'admin', scopes: ['*'] }, systemCaller.actor);
  const path = join(dataDir, ADMIN_KEY_FILE);
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  audit.append({ actor: systemCaller.actor, action: 'keys.create', target: key.id, outcome: 'ok', detail: 'bootstrap admin key' });
  return path;
}
