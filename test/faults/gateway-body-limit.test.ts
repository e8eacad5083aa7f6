import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless, type HeadlessNode } from './headless';

const IDLE_MS = 400;

/**
 * Announces `size` bytes of application/octet-stream, sends the first KiB and resolves with the
 * answer's status: the limit is checked on Content-Length, so the answer comes before the rest of
 * the body, which is never sent (as a client gives up after a 413).
 */
function post(url: string, path: string, key: string | null, size: number): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
      const status = /^HTTP\/1\.1 (\d+)/.exec(text);
      if (status === null) return;
      socket.destroy();
      resolve(Number(status[1]));
    });
    socket.on('error', reject);
    socket.write(
      [`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Content-Type: application/octet-stream', `Content-Length: ${size}`]
        .concat(key === null ? [] : [`Authorization: Bearer ${key}`])
        .join('\r\n') + '\r\n\r\n',
    );
    socket.write(Buffer.alloc(1024, 0x62));
  });
}

describe('a body over the gateway limit', () => {
  const dir = tempDir('ph-fault-gw-limit-');
  let node: HeadlessNode;
  beforeAll(async () => {
    const config = join(dir.path, 'config.json');
    writeFileSync(config, JSON.stringify({ bodyIdleTimeoutMs: IDLE_MS }));
    node = await launchHeadless(join(dir.path, 'data'), ['--config', config]);
    await node.running();
  }, 40_000);
  afterAll(async () => {
    await node.kill();
    dir.remove();
  });

  it('is answered 413 and the node still answers after the body idle window (a viewer with gateway:web)', async () => {
    const created = await node.op('keys.create', { name: 'gw viewer', role: 'viewer', scopes: ['gateway:web'] });
    expect(created.status).toBe(200);
    const key = created.body.secret as string;
    expect(await post(node.url, '/gw/web/up', key, 11 * 1024 * 1024)).toBe(413);
    expect(await post(node.url, '/api/v2/ops/keys.list', node.adminKey(), 11 * 1024 * 1024)).toBeGreaterThanOrEqual(400);
    await new Promise((r) => setTimeout(r, IDLE_MS * 4));
    expect(node.child.exitCode).toBeNull();
    expect(node.stderr()).not.toContain("Unhandled 'error' event");
    const health = await fetch(`${node.url}/healthz`);
    expect(health.status).toBe(200);
  }, 30_000);
});
