import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemCaller } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { AuditLog } from './audit-log';
import { DATA_DIR } from '../core';

export const ADMIN_KEY_FILE = DATA_DIR.adminKey;

/** In a fleet, how a node learns whether it is the one to make the fleet's admin key. */
export interface FleetBootstrap {
  /** True when this node won the right to make it (or Redis cannot say: a node must never be unreachable). */
  claim(): Promise<boolean>;
  /** Resolves true once a key reached this node from another (the winner's), false after the wait. */
  waitForKey(): Promise<boolean>;
}

/**
 * On a first start with no keys at all, a headless node would be unreachable: create one admin key
 * and write it (the key alone, one line) to `<data-dir>/admin.key`, readable by the owner only.
 * Returns the file path when a key was created.
 *
 * An `admin.key` already there is never overwritten: a store with no keys beside it means the
 * database was lost or replaced, and that key is what opens the database once it is restored. The
 * new key then goes to `admin-<key id>.key`.
 *
 * In a fleet there is one admin identity: keys are fleet-wide, so a node that joins a fleet whose
 * Redis already holds keys has them at start and makes none; of nodes starting together on an empty
 * fleet, the one that wins the claim makes the key and the others wait for it to arrive (and claim
 * again if it does not, in case the winner died before making it).
 */
export async function bootstrapAdminKey(
  dataDir: string,
  keys: ApiKeyStore,
  audit: AuditLog,
  fleet?: FleetBootstrap,
): Promise<string | null> {
  if (fleet !== undefined) {
    for (let attempt = 0; keys.count() === 0 && attempt < 3; attempt += 1) {
      if (await fleet.claim()) break;
      if (await fleet.waitForKey()) return null;
    }
  }
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
