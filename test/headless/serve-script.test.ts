import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '../..');

describe("the README's run command", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('builds and starts Pilothouse, serving the console, health and the keyed API', async () => {
    const port = await freePort();
    const child = spawn('bash', ['scripts/serve.sh', '--port', String(port), '--data-dir', dir.path], {
      cwd: root,
      env: { ...process.env, PILOTHOUSE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!out.includes('Press Ctrl+C')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toContain(`Console: http://127.0.0.1:${port}/`);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(await page.text()).toContain('<div id="root">');
      const unauthenticated = await fetch(`http://127.0.0.1:${port}/api/v2/ops/system.status`, { method: 'POST' });
      expect(unauthenticated.status).toBe(401);
      expect(((await unauthenticated.json()) as { error: { code: string } }).error.code).toBe('PH_UNAUTHENTICATED');
      const key = readFileSync(join(dir.path, 'admin.key'), 'utf8').trim();
      const ok = await fetch(`http://127.0.0.1:${port}/api/v2/ops/system.status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
      });
      expect(ok.status).toBe(200);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
