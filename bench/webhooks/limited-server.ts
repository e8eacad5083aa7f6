/**
 * The server side of `ratelimit.overhead`, a child process: a Fastify app with one cheap route and a
 * fixed caller (as authentication would set it), with the rate limit on in memory (`memory`), on in
 * Redis (`redis <url>`), or off (`off`). The tier's budget is far above the load, so nothing is
 * refused: what is measured is the cost of counting. Prints the port, then serves until killed.
 */
import { join } from 'node:path';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import type {} from '../../main/http';
import { RateLimits, TierStore, installRateLimit, ratelimitMigrations } from '../../main/ratelimit';
import { openStore } from '../../main/store';
import { tempDir } from '../../test/helpers/temp-dir';
import { BENCH_VALUE } from './cheap-route';

const mode = process.argv[2] ?? 'off';
const redisUrl = process.argv[3];
const app = Fastify({ logger: false });
const caller = { actor: 'key:bench', keyId: 'bench', role: 'operator' as const, scopes: [] };

app.decorateRequest('caller', null);
app.addHook('onRequest', (request, _reply, done) => {
  request.caller = caller;
  done();
});

const dir = tempDir('ph-bench-rl-');
let redis: Redis | null = null;
if (mode !== 'off') {
  const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: ratelimitMigrations });
  const tiers = new TierStore(db);
  tiers.save({ name: 'bench', limit: 1_000_000_000, windowSeconds: 60, burst: 0 });
  tiers.assign('bench', 'bench');
  if (mode === 'redis' && redisUrl !== undefined) redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  installRateLimit(app, new RateLimits(redis), tiers);
}

app.get('/api/v2/cheap', async () => BENCH_VALUE);

void (async () => {
  if (redis !== null) await redis.ping();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  process.on('SIGTERM', () => {
    void app.close().then(() => {
      redis?.disconnect();
      dir.remove();
      process.exit(0);
    });
  });
})();
