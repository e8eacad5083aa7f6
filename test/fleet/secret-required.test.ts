import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '../..');

describe('a node on Redis without a fleet secret', () => {
  it('refuses to start, naming the setting, and never touches Redis', async () => {
    const dir = tempDir('ph-no-secret-');
    try {
      const env = { ...process.env };
      delete env.PILOTHOUSE_FLEET_SECRET;
      delete env.PILOTHOUSE_FLEET_SECRET_FILE;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'main/headless.ts'), '--data-dir', dir.path, '--port', '0', '--redis-url', 'redis://127.0.0.1:1'],
        { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).toBe(1);
      expect(stderr).toContain('PH_CONFIG_INVALID: Setting "fleetSecret" is required with Redis');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      dir.remove();
    }
  }, 60_000);
});
