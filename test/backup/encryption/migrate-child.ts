/**
 * The process the migration kill test stops with SIGKILL: it encrypts the plain repository in
 * `<dir>/repo` in small steps, printing `step` after each and pausing, so the parent can kill it mid-way.
 */
import { join } from 'node:path';
import { PageRepository, PageWorkers, RepoKeyFile, deriveKeys, migrateToEncrypted } from '../../../main/backup';

const dir = process.argv[2] as string;

async function main(): Promise<void> {
  const workers = new PageWorkers(1);
  const repo = new PageRepository(join(dir, 'repo'), workers);
  repo.open(deriveKeys(new RepoKeyFile(join(dir, 'secrets', 'backup-repository.key')).load(null)));
  await migrateToEncrypted(
    repo,
    async () => {
      process.stdout.write('step\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    16,
  );
  process.stdout.write('finished\n');
  await workers.close();
  repo.close();
}

void main();
