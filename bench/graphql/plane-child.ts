import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';

/**
 * Child process for the GraphQL bench: one headless Pilothouse on 127.0.0.1, port 0, in a fresh data
 * dir, holding `JOBS` jobs (delayed a day, so they stay as they are) and a service `bench` with
 * `INSTANCES` instances of two TTL checks each. Prints `{url, adminKey}` once they are in.
 */
const JOBS = 50;
const INSTANCES = 50;

const dataDir = mkdtempSync(join(tmpdir(), 'ph-bench-graphql-'));
const config = { ...defaultConfig(dataDir), port: 0, logLevel: 'silent' as const };
const plane = new ControlPlane({ config, sources: ['bench'] }, { mode: 'headless', logger: createLogger('silent') });

async function main(): Promise<void> {
  await plane.start();
  // Never run (each waits a day): the bench reads them.
  plane.running.batch.queue.register('bench.idle', () => undefined);
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  const op = async (name: string, input: unknown): Promise<void> => {
    const res = await fetch(`${plane.url}/api/v2/ops/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify(input),
    });
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
  };
  for (let i = 0; i < JOBS; i += 1)
    await op('jobs.enqueue', { type: 'bench.idle', payload: { n: i, note: 'a job the bench lists' }, delayMs: 86_400_000, attempts: 3 });
  for (let i = 0; i < INSTANCES; i += 1)
    await op('services.register', {
      name: 'bench',
      id: `bench-${i}`,
      address: '127.0.0.1',
      port: 10_000 + i,
      tags: ['bench', `shard-${i % 5}`],
      version: '1.2.3',
      checks: [
        { id: 'alive', kind: 'ttl', ttlMs: 3_600_000, initialStatus: 'passing' },
        { id: 'ready', kind: 'ttl', ttlMs: 3_600_000, initialStatus: 'passing' },
      ],
    });
  process.stdout.write(`${JSON.stringify({ url: plane.url, adminKey })}\n`);
}

void main();
process.on(
  'SIGTERM',
  () =>
    void plane.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }),
);
