import { startBenchPlane } from '../bench-plane';

/**
 * Child process for the GraphQL bench: one headless Pilothouse on 127.0.0.1, port 0, in a fresh data
 * dir, holding `JOBS` jobs (delayed a day, so they stay as they are) and a service `bench` with
 * `INSTANCES` instances of two TTL checks each. Prints `{url, adminKey}` once they are in.
 */
const JOBS = 50;
const INSTANCES = 50;

async function main(): Promise<void> {
  const { plane, url, adminKey, op } = await startBenchPlane('graphql');
  // Never run (each waits a day): the bench reads them.
  plane.running.batch.queue.register('bench.idle', () => undefined);
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
  process.stdout.write(`${JSON.stringify({ url, adminKey })}\n`);
}

void main();
