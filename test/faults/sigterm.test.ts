import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless, type HeadlessNode } from './headless';

describe('SIGTERM', () => {
  const nodes: HeadlessNode[] = [];
  const dirs: { remove: () => void }[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.kill();
    for (const d of dirs.splice(0)) d.remove();
  });

  it('closes idle keep-alive connections at once and exits 0 well inside the deadline', async () => {
    const dir = tempDir('ph-fault-term-');
    dirs.push(dir);
    const node = await launchHeadless(dir.path, [], { PILOTHOUSE_SHUTDOWN_DEADLINE_MS: '8000' });
    nodes.push(node);
    await node.running();
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 8 });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        request(`${node.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
    expect(await Promise.all([get(), get(), get(), get()])).toEqual([200, 200, 200, 200]);
    let closedSockets = 0;
    for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.on('close', () => (closedSockets += 1));
    const started = performance.now();
    const code = await node.kill('SIGTERM');
    const tookMs = performance.now() - started;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(4_000);
    expect(closedSockets).toBeGreaterThan(0);
    expect(node.stderr()).not.toContain('did not stop within the deadline');
    agent.destroy();
  }, 60_000);
});
