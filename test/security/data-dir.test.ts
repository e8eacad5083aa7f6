import { chmodSync, mkdirSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { tempDir } from '../helpers/temp-dir';

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('the data directory is owner-only', () => {
  const dirs: { path: string; remove: () => void }[] = [];
  let plane: ControlPlane | undefined;
  const logged: Record<string, unknown>[] = [];
  afterEach(async () => {
    await plane?.stop();
    plane = undefined;
    for (const d of dirs.splice(0)) d.remove();
  });

  async function start(dataDir: string): Promise<ControlPlane> {
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
    plane = new ControlPlane({ config: { ...defaultConfig(dataDir), port: 0 }, sources: ['test'] }, { mode: 'headless', logger });
    await plane.start();
    return plane;
  }

  it('makes an existing 0755 directory 0700 and its database, WAL, shared-memory, key and secret files 0600 at start', async () => {
    const root = tempDir('ph-perm-');
    dirs.push(root);
    const dataDir = join(root.path, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    await start(dataDir);
    await plane!.stop();
    // As an earlier version (or a copy made by hand) left them: world-readable.
    chmodSync(dataDir, 0o755);
    for (const file of ['pilothouse.db', 'admin.key', 'node.id']) chmodSync(join(dataDir, file), 0o644);
    chmodSync(join(dataDir, 'secrets', 'session-signing.key'), 0o644);
    chmodSync(join(dataDir, 'secrets'), 0o755);
    for (const folder of ['tls', 'webhook-secrets']) {
      mkdirSync(join(dataDir, folder), { mode: 0o755 });
      writeFileSync(join(dataDir, folder, 'left-by-hand.pem'), 'x', { mode: 0o644 });
    }

    await start(dataDir);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'secrets'))).toBe(0o700);
    const files = readdirSync(dataDir).filter((f) => f.startsWith('pilothouse.db'));
    expect(files).toEqual(expect.arrayContaining(['pilothouse.db', 'pilothouse.db-wal', 'pilothouse.db-shm']));
    for (const file of [...files, 'admin.key', 'node.id', 'audit.head']) expect([file, mode(join(dataDir, file))]).toEqual([file, 0o600]);
    for (const folder of ['secrets', 'tls', 'webhook-secrets']) {
      expect(mode(join(dataDir, folder))).toBe(0o700);
      for (const file of readdirSync(join(dataDir, folder))) expect(mode(join(dataDir, folder, file))).toBe(0o600);
    }
  });

  it('warns, and changes nothing outside the directory, when a file there is a link it will not follow', async () => {
    const root = tempDir('ph-perm-');
    dirs.push(root);
    const dataDir = join(root.path, 'data');
    await start(dataDir);
    await plane!.stop();
    renameSync(join(dataDir, 'node.id'), join(root.path, 'node.id.real'));
    symlinkSync(join(root.path, 'node.id.real'), join(dataDir, 'node.id'));
    chmodSync(join(root.path, 'node.id.real'), 0o644);

    await start(dataDir);
    expect(mode(join(root.path, 'node.id.real'))).toBe(0o644);
    expect(logged).toContainEqual(expect.objectContaining({ level: 40, path: join(dataDir, 'node.id'), code: 'ELOOP' }));
  });

  it('makes a folder of secrets inside secrets/ (backup-replicas) 0700 and its files 0600, without a warning at each start', async () => {
    const root = tempDir('ph-perm-');
    dirs.push(root);
    const dataDir = join(root.path, 'data');
    await start(dataDir);
    await plane!.stop();
    const replicas = join(dataDir, 'secrets', 'backup-replicas');
    mkdirSync(replicas, { recursive: true });
    chmodSync(replicas, 0o755);
    writeFileSync(join(replicas, 'rep-1.json'), '{}', { mode: 0o644 });
    logged.length = 0;

    await start(dataDir);
    expect(mode(replicas)).toBe(0o700);
    expect(mode(join(replicas, 'rep-1.json'))).toBe(0o600);
    expect(logged.filter((l) => String(l.msg).includes('owner-only'))).toEqual([]);
  });
});
