import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PageWorkers } from '../../main/backup';
import { captureImage } from '../../main/backup/capture';
import { tempDir } from '../helpers/temp-dir';
import { makeDatabase } from './backup-fixture';

describe('the captured image', () => {
  const dir = tempDir('ph-capture-mode-');
  const workers = new PageWorkers(1);
  afterAll(async () => {
    await workers.close();
    dir.remove();
  });

  it('is owner-only (0600) from the moment it exists: a kill mid-snapshot leaves no world-readable copy of the source', async () => {
    const source = join(dir.path, 'src.db');
    makeDatabase(source, 200).close();
    const image = join(dir.path, 'capture-1.sqlite');
    await captureImage(source, image, workers);
    expect(statSync(image).size).toBeGreaterThan(0);
    expect(statSync(image).mode & 0o777).toBe(0o600);
  });
});
