import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PhError } from '../contract';
import { findOpenHolders } from './backup';
import type { Clock } from './clock';
import { migrations } from './control-plane';
import { AUDIT_HEAD_FILE, ApiKeyStore, AuditLog, SecretStore, writeKeyFile } from './security';
import { DATABASE_FILE, DataDirLock, openStore } from './store';

export const ADMIN_KEY_ACTOR = 'admin-key --reset';

/**
 * The way back in when every admin key is lost (admin.key deleted, the key revoked): with the node
 * stopped, issue a new admin key straight into the store, write it to `admin.key` (or
 * `admin-<id>.key` when that file exists: nothing is overwritten) and record it in the audit trail.
 * Refuses while any process has the database open, since a running node would not see the key
 * reliably and its audit chain would fork.
 */
export function resetAdminKey(dataDir: string, clock: Clock): { keyFile: string; keyId: string } {
  const dbPath = join(dataDir, DATABASE_FILE);
  if (!existsSync(dbPath)) throw new PhError('PH_NOT_FOUND', `There is no Pilothouse database at ${dbPath}; start Pilothouse once instead`);
  const holders = findOpenHolders(dbPath) ?? [];
  if (holders.length > 0) {
    const who = holders.map((h) => `${h.command} (pid ${h.pid})`).join(', ');
    throw new PhError('PH_CONFLICT', `${dbPath} is open in ${who}; stop the node first, then run this again`, {
      details: { pids: holders.map((h) => h.pid) },
    });
  }
  // Held while the key is written, so a node cannot start in between (its own start takes this lock).
  const lock = new DataDirLock(dataDir);
  lock.acquire();
  let db: ReturnType<typeof openStore>;
  try {
    db = openStore({ path: dbPath, migrations });
  } catch (err) {
    lock.release();
    throw err;
  }
  try {
    const secrets = new SecretStore(dataDir);
    const firstAuditKey = !secrets.has('audit-hmac');
    const audit = new AuditLog(db, clock, { key: secrets.get('audit-hmac'), headPath: join(dataDir, AUDIT_HEAD_FILE) });
    // The same checks as a start: triggers back, the tail against the head, where keyed rows begin.
    audit.checkAtStart(firstAuditKey);
    const keys = new ApiKeyStore(db, clock);
    const { key, secret } = keys.create({ name: 'recovered admin', role: 'admin', scopes: ['*'] }, ADMIN_KEY_ACTOR);
    const keyFile = writeKeyFile(dataDir, key.id, secret);
    audit.append({
      actor: ADMIN_KEY_ACTOR,
      action: 'keys.create',
      target: key.id,
      outcome: 'ok',
      detail: 'admin key reset from the command line',
    });
    audit.writeHead(true);
    return { keyFile, keyId: key.id };
  } finally {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    lock.release();
  }
}
