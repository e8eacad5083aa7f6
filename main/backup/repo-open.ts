import type { BackupParts } from './backup-options';
import { reconcileCatalogue } from './catalogue-reconcile';
import type { RepoKeyring } from './repo-keyring';
import { migrateToEncrypted } from './repo-migrate';
import { checkPacks, reportLostManifests } from './repository-damage';

/**
 * Loads the key (made on first start), opens the repository with it and finishes encrypting a
 * plain (or half-migrated) one before anything else touches it, then brings the catalogue in line
 * with what the repository holds and says what it lost (repository-damage.ts). A passphrase-wrapped
 * key without its passphrase leaves the repository closed and the keyring locked: every repository
 * operation refuses until it is unlocked.
 */
export async function openRepository(parts: BackupParts, keyring: RepoKeyring, passphrase: string | null): Promise<void> {
  const { repo, catalogue, options } = parts;
  const keys = keyring.load(options.encryption !== false, passphrase);
  if (keys === 'locked') {
    options.logger.warn({}, 'the backup repository key is wrapped by a passphrase: backups wait for backup.key.unlock');
    return;
  }
  repo.open(keys);
  if (keys !== null && repo.format !== 'encrypted') {
    options.logger.info({ format: repo.format }, 'encrypting the backup repository in place');
    await migrateToEncrypted(repo, (p) => options.logger.info(p, 'encrypting the backup repository'));
  }
  reportLostManifests(parts, reconcileCatalogue(repo, catalogue, options.clock.now()));
  checkPacks(parts);
}
