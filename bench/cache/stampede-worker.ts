import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { openCache, removeDir } from './fixture';

/**
 * One node of the cross-process stampede: waits for "go" on stdin, then fires `count` concurrent
 * getOrSet misses on one key; the loader counts its calls in Redis. Prints one JSON line.
 */
async function main(): Promise<void> {
  const [redisUrl, countArg, key] = process.argv.slice(2) as [string, string, string];
  const count = Number(countArg);
  const node = await openCache({ redisUrl, cache: { redisCommandTimeoutMs: 500 } });
  const counter = new Redis(redisUrl);
  const ns = node.cache.namespace('stampede');
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === 'go') break;
  let errors = 0;
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      ns
        .getOrSet(key, async () => {
          await counter.incr(`bench:loader:${key}`);
          await new Promise((r) => setTimeout(r, 50));
          return { loadedAt: Date.now() };
        })
        .catch(() => {
          errors += 1;
          return null;
        }),
    ),
  );
  process.stdout.write(
    `${JSON.stringify({ served: results.filter((r) => r !== null).length, errors, localLoaderCalls: ns.stats.loaderCalls })}\n`,
  );
  counter.disconnect();
  await node.stop();
  removeDir(node.dir);
}

void main().then(() => process.exit(0));
