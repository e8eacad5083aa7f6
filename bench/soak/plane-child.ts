import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, type Config } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';

/**
 * Child process for the soak: one headless Pilothouse on Redis (`PH_SOAK_REDIS`, `PH_SOAK_SECRET`)
 * in the data dir `PH_SOAK_DIR`, so the parent measures this process alone. Prints `{url, adminKey,
 * node}`; answers `sample` messages with its memory, open fds and the cache's Redis breaker opens.
 */
const dataDir = process.env.PH_SOAK_DIR as string;
const config: Config = {
  ...defaultConfig(dataDir),
  port: 0,
  logLevel: 'silent',
  redisUrl: process.env.PH_SOAK_REDIS,
  fleetSecret: process.env.PH_SOAK_SECRET,
};
const plane = new ControlPlane({ config, sources: ['bench'] }, { mode: 'headless', logger: createLogger('silent') });
void plane.start().then(() => {
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  process.stdout.write(`${JSON.stringify({ url: plane.url, adminKey, node: plane.nodeId })}\n`);
});
process.on('message', (msg: unknown) => {
  if (msg !== 'sample') return;
  const memory = process.memoryUsage();
  process.send?.({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    fds: readdirSync('/proc/self/fd').length,
    breakerOpens: plane.running.cache.redisState().breakerOpens,
  });
});
process.on(
  'SIGTERM',
  () =>
    void plane.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }),
);
