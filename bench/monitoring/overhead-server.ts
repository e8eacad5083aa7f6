/**
 * The server side of `monitoring.overhead`, run as a child process so the load generator does not
 * share its event loop: a Fastify app with one cached API route, with every piece of monitoring
 * instrumentation on (`on`: `Monitoring.instrument`, the one hook that feeds the Prometheus request
 * histogram, route timings, usage per key and route and interval latency, with the monitoring
 * service's sampler, probes and history running) or none of it (`off`). Prints the port, then serves until
 * killed.
 */
import { join } from 'node:path';
import Fastify from 'fastify';
import { LRUCache } from 'lru-cache';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { Metrics, Monitoring, monitoringMigrations } from '../../main/monitoring';
import { openStore } from '../../main/store';
import { tempDir } from '../../test/helpers/temp-dir';

const mode = process.argv[2] === 'on' ? 'on' : 'off';
const app = Fastify({ logger: false });
const cache = new LRUCache<string, object>({ max: 1000 });
cache.set('status', { ok: true, version: '0.1.0', services: ['store', 'http', 'monitoring'], at: new Date(0).toISOString() });

let monitoring: Monitoring | null = null;
const dir = tempDir('ph-bench-mon-');
if (mode === 'on') {
  const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: monitoringMigrations });
  const metrics = new Metrics();
  monitoring = new Monitoring({
    db,
    redis: null,
    bus: new EventBus(),
    clock: { now: () => Date.now() },
    logger: createLogger('silent'),
    metrics,
    dataDir: dir.path,
  });
  monitoring.instrument(app);
}

app.get('/api/v2/cached', async () => cache.get('status'));

void (async () => {
  await monitoring?.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  const stop = async () => {
    await app.close();
    await monitoring?.stop();
    dir.remove();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
})();
