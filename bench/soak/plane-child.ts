import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { defaultConfig, loadConfig, type Config } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';

/**
 * Child process for the soak: one headless Pilothouse on Redis (`PH_SOAK_REDIS`, `PH_SOAK_SECRET`)
 * in the data dir `PH_SOAK_DIR`, so the parent measures this process alone. Prints `{url, adminKey,
 * node}`; answers `sample` messages with its memory, open fds and the cache's Redis breaker opens.
 * Retention is at its defaults but for the windows: a minute of every history, cut by the maintenance
 * job every 20 seconds, so `soak.db-growth` sees the cuts run within the soak (docs/retention.md).
 */
const dataDir = process.env.PH_SOAK_DIR as string;
const WINDOW = '1m';
const soakConfig: Config = {
  ...defaultConfig(dataDir),
  port: 0,
  logLevel: 'silent',
  redisUrl: process.env.PH_SOAK_REDIS,
  fleetSecret: process.env.PH_SOAK_SECRET,
  retention: {
    auditDays: WINDOW,
    batchDays: WINDOW,
    completedJobDays: WINDOW,
    failedJobDays: WINDOW,
    usageDays: WINDOW,
    webhookDeliveryDays: WINDOW,
    verificationDays: WINDOW,
    maintenanceCron: '*/20 * * * * *',
  },
};
// Checked as a config file would be: the bench's windows must be ones an operator could set.
const { config } = loadConfig({ argv: [], env: {}, defaults: soakConfig });
const plane = new ControlPlane({ config, sources: ['bench'] }, { mode: 'headless', logger: createLogger('silent') });
let stopping: Promise<void> | null = null;
const stop = (): Promise<void> =>
  (stopping ??= plane
    .stop()
    .catch(() => undefined)
    .then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }));
plane.start().then(
  () => {
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    process.stdout.write(`${JSON.stringify({ url: plane.url, adminKey, node: plane.nodeId })}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`the soak node did not start: ${(err as Error).message}\n`);
    void stop();
  },
);

// Event-loop delay, filed under the window the parent says is running (a snapshot or verify, or
// neither). Measured as perf_hooks' monitorEventLoopDelay does (how late a 10 ms timer fires), but
// by hand: its histogram cannot be merged into another, and one disabled between windows files the
// whole gap as one delay when it is enabled again.
const RESOLUTION_MS = 10;
const windows = { snapshot: createHistogram(), quiet: createHistogram() };
let window: keyof typeof windows = 'quiet';
let expected = performance.now() + RESOLUTION_MS;
const tick = (): void => {
  const now = performance.now();
  windows[window].record(Math.max(1, Math.round((now - expected) * 1e6)));
  expected = now + RESOLUTION_MS;
  setTimeout(tick, RESOLUTION_MS).unref();
};
setTimeout(tick, RESOLUTION_MS).unref();
const loopFigures = (h: RecordableHistogram) => ({
  p99: h.count === 0 ? 0 : h.percentile(99) / 1e6,
  max: h.count === 0 ? 0 : h.max / 1e6,
  count: h.count,
});
process.on('message', (msg: unknown) => {
  const loop = (msg as { loop?: string } | null)?.loop;
  if (loop === 'snapshot' || loop === 'quiet') {
    window = loop;
    return;
  }
  if (loop === 'reset') {
    windows.snapshot.reset();
    windows.quiet.reset();
    return;
  }
  if (msg !== 'sample') return;
  const memory = process.memoryUsage();
  process.send?.({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    fds: readdirSync('/proc/self/fd').length,
    breakerOpens: plane.running.cache.redisState().breakerOpens,
    pageThreads: plane.running.backup.repo.workers.running,
    loop: { snapshot: loopFigures(windows.snapshot), quiet: loopFigures(windows.quiet) },
  });
});
process.on('SIGTERM', () => void stop());
// The parent went away without stopping us (it failed or was killed): stop, and leave nothing behind.
process.on('disconnect', () => void stop());
