import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { startFixture, type Fixture } from './backup-fixture';

describe('the backup repository’s folders', () => {
  let fx: Fixture | undefined;
  const dirs: { remove: () => void }[] = [];
  afterEach(async () => {
    await fx?.stop();
    for (const d of dirs.splice(0)) d.remove();
  });

  it('are made owner-only when an earlier version left them readable by others', async () => {
    const parent = tempDir('ph-repo-modes-');
    dirs.push(parent);
    const repoDir = join(parent.path, 'repo');
    for (const folder of ['', 'packs', 'snapshots']) {
      mkdirSync(join(repoDir, folder), { recursive: true });
      chmodSync(join(repoDir, folder), 0o755);
    }
    fx = await startFixture({ repoDir });
    for (const folder of ['', 'packs', 'snapshots', 'tmp']) expect(statSync(join(repoDir, folder)).mode & 0o777).toBe(0o700);
  });
});
