/**
 * The Pilothouse side of `ratelimit.overhead`, a child process: a headless node on 127.0.0.1 (port 0,
 * a fresh data dir, on Redis with `redis <url>`), its HTTP rate limit on (`on`) or off (`off`). It
 * holds a small cached value and an operator key on a tier whose budget is far above the load, so
 * nothing is refused: what is measured is the cost of counting on the node's own cheap route. Prints
 * `{port, key}` once ready, then serves until SIGTERM.
 */
import { startBenchPlane } from '../bench-plane';
import { BENCH_FLEET_SECRET, BENCH_VALUE, CHEAP_KEY, CHEAP_NAMESPACE } from './cheap-route';

const limit = process.argv[2] ?? 'on';
const redisUrl = process.argv[3] === 'redis' ? process.argv[4] : undefined;

async function main(): Promise<void> {
  const overrides = redisUrl === undefined ? {} : { redisUrl, fleetSecret: BENCH_FLEET_SECRET };
  const { url, op } = await startBenchPlane('ratelimit', overrides, { httpRateLimit: limit === 'on' });
  await op('ratelimit.tiers.save', { tier: { name: 'bench', limit: 10_000_000, windowSeconds: 60, burst: 0 } });
  const created = (await op('keys.create', { name: 'bench', role: 'operator' })) as { key: { id: string }; secret: string };
  await op('ratelimit.keys.assign', { id: created.key.id, tier: 'bench' });
  await op('cache.put', { namespace: CHEAP_NAMESPACE, key: CHEAP_KEY, value: BENCH_VALUE, ttl: 86_400_000 });
  process.stdout.write(`${JSON.stringify({ port: Number(new URL(url).port), key: created.secret })}\n`);
}

void main();
