import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { FleetSecretClaim } from '../../main/fleet';
import { silent } from '../batch/fixtures';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { startRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '../..');

/** Runs the headless entry until it exits: its exit code and what it wrote to stderr. */
async function headless(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'main/headless.ts'), '--port', '0', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, stderr };
}

describe('a node on Redis without a fleet secret', () => {
  it('refuses to start, naming the setting, and never touches Redis', async () => {
    const dir = tempDir('ph-no-secret-');
    try {
      const env = { ...process.env };
      delete env.PILOTHOUSE_FLEET_SECRET;
      delete env.PILOTHOUSE_FLEET_SECRET_FILE;
      const { code, stderr } = await headless(['--data-dir', dir.path, '--redis-url', 'redis://127.0.0.1:1'], env);
      expect(code).toBe(1);
      expect(stderr).toContain('PH_CONFIG_INVALID: Setting "fleetSecret" is required with Redis');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      dir.remove();
    }
  }, 60_000);
});

describe('a node whose fleet secret is not the running fleet’s', () => {
  it('exits 1 with PH_FLEET_SECRET_MISMATCH naming the node that holds the fleet', async () => {
    const redis = await startRedis();
    const dir = tempDir('ph-wrong-secret-');
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    const running = new FleetSecretClaim(client, TEST_FLEET_SECRET, 'node-running', silent);
    try {
      await running.start();
      const env: NodeJS.ProcessEnv = { ...process.env, PILOTHOUSE_FLEET_SECRET: 'a-wrong-secret-of-the-right-form-0123456789abc' };
      delete env.PILOTHOUSE_FLEET_SECRET_FILE;
      const { code, stderr } = await headless(['--data-dir', dir.path, '--redis-url', redis.url], env);
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /^PH_FLEET_SECRET_MISMATCH: This node's fleet secret is not the one the nodes running on this Redis use \(node-running\)/m,
      );
      expect(stderr).toContain('`DEL ph:fleet:secret-proof` clears it once every node of the old secret is stopped');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      await running.stop();
      client.disconnect();
      dir.remove();
      await redis.stop();
    }
  }, 60_000);
});
