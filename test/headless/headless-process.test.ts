import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '../..');

interface Headless {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

function launch(args: string[], env: Record<string, string> = {}): Headless {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'main/headless.ts'), ...args], {
    cwd: root,
    env: { ...process.env, PILOTHOUSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.once('exit', (code) => r({ code, at: Date.now() })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitForText(get: () => string, text: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!get().includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" not printed; got: ${get()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm run serve (headless)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  /** Starts headless on a free port in a temp data dir and waits until it says it is running. */
  async function startRunning() {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const port = await freePort();
    const p = launch(['--port', String(port), '--data-dir', dir.path]);
    cleanups.push(() => p.child.kill('SIGKILL'));
    await waitForText(p.stdout, 'Press Ctrl+C');
    const key = readFileSync(join(dir.path, 'admin.key'), 'utf8').trim();
    return { p, port, dir, key };
  }

  it('prints the console URL and the admin key file, and answers with that key', async () => {
    const { p, port, dir, key } = await startRunning();
    expect(p.stdout()).toContain(`Console: http://127.0.0.1:${port}/`);
    expect(p.stdout()).toContain(join(dir.path, 'admin.key'));
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/ops/system.status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    p.child.kill('SIGINT');
    expect((await p.exited).code).toBe(0);
  });

  it('lets a request in flight at SIGTERM finish, then exits 0 within 5 s', async () => {
    const { p, port, key } = await startRunning();

    // Send the headers and half the body, signal, then the rest: the request is in flight across the SIGTERM.
    const body = JSON.stringify({ name: 'in-flight', role: 'viewer' });
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (d) => (response += d));
    socket.write(
      `POST /api/v2/ops/keys.create HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const signalledAt = Date.now();
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    socket.write(body.slice(10));
    await new Promise((r) => socket.once('close', r));
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"name":"in-flight"');
    const exit = await p.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(5000);
  });

  it('exits non-zero with one clear line when the port is taken', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => blocker.close());
    const port = (blocker.address() as { port: number }).port;
    const p = launch(['--port', String(port), '--data-dir', dir.path]);
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(p.stderr()).toContain(`PH_PORT_IN_USE: Port ${port} on 127.0.0.1 is already in use`);
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  });

  it('exits non-zero naming the bad setting on a bad config', async () => {
    const p = launch(['--port', 'seventy']);
    expect((await p.exited).code).toBe(1);
    expect(p.stderr()).toContain('PH_CONFIG_INVALID: Setting "port"');
    const q = launch([], { PILOTHOUSE_HOST: '0.0.0.0' });
    expect((await q.exited).code).toBe(1);
    expect(q.stderr()).toContain('LAN access');
  });

  it("refuses a data directory whose database is not Pilothouse's", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir.path, 'pilothouse.db'), 'garbage garbage garbage garbage garbage garbage garbage garbage');
    const p = launch(['--port', '0', '--data-dir', dir.path]);
    expect((await p.exited).code).toBe(1);
    expect(p.stderr()).toContain('PH_STORE_NOT_PILOTHOUSE');
  });
});
