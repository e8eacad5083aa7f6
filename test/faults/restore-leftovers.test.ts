import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupService, backupMigrations } from '../../main/backup';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { buildChild } from '../backup/crash/crash-harness';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '..', '..');
const restoreTemps = (dir: string) => readdirSync(dir).filter((n) => /^\.target\.db\.restore-[0-9a-f]{8}\.tmp/.test(n));

/** Runs the backup crash child (snapshot, prune, in-place restore, forever) and kill -9s it while a restore temp file exists. */
function killDuringRestore(childFile: string, dir: string): Promise<string[]> {
  return new Promise((resolveKill, reject) => {
    const child = spawn(process.execPath, [childFile, dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
    });
    let seen: string[] = [];
    const poll = setInterval(() => {
      seen = restoreTemps(dir);
      if (seen.length > 0) child.kill('SIGKILL');
    }, 2);
    const guard = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('exit', () => {
      clearInterval(poll);
      clearTimeout(guard);
      const left = restoreTemps(dir);
      if (left.length > 0) resolveKill(left);
      else reject(new Error('no restore was caught half-way'));
    });
  });
}

describe('temp files of a restore killed half-way', () => {
  const dir = tempDir('ph-fault-leftovers-');
  let childFile: string;
  beforeAll(async () => {
    childFile = await buildChild(join(dir.path, 'build'));
  });
  afterAll(() => dir.remove());

  it('are removed when the backup service next starts', async () => {
    const data = join(dir.path, 'data');
    mkdirSync(data, { recursive: true });
    let left: string[] = [];
    for (let attempt = 0; attempt < 5 && left.length === 0; attempt += 1) left = await killDuringRestore(childFile, data).catch(() => []);
    expect(left.length).toBeGreaterThan(0);
    const store = openStore({ path: join(data, 'pilothouse.db'), migrations: backupMigrations });
    const service = new BackupService({
      db: store,
      appDbPath: join(data, 'pilothouse.db'),
      roots: [data],
      repoDir: join(data, 'repo'),
      clock: { now: () => Date.now() },
      logger: createLogger('silent'),
      workers: 1,
      appSchedule: null,
      maintenanceSchedule: null,
    });
    await service.start();
    try {
      expect(restoreTemps(data)).toEqual([]);
      expect(readdirSync(join(data, 'repo', 'restoring'))).toEqual([]);
    } finally {
      await service.stop();
      store.close();
    }
  }, 120_000);
});
