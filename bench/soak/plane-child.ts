import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { constants, createHistogram, PerformanceObserver } from 'node:perf_hooks';
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

// Event-loop delay and garbage collection, filed under the window the parent says is running (a
// snapshot or verify, or neither). The delay is measured as perf_hooks' monitorEventLoopDelay does
// (how late a 10 ms timer fires), but by hand: its histogram cannot be merged into another, and one
// disabled between windows files the whole gap as one delay when it is enabled again.
const RESOLUTION_MS = 10;
const newWindow = () => ({ delay: createHistogram(), ms: 0, gcMs: 0, gcMaxMs: 0, majorGcs: 0 });
const windows = { snapshot: newWindow(), quiet: newWindow() };
let window: keyof typeof windows = 'quiet';
let windowFrom = performance.now();
const closeWindow = (): void => {
  const now = performance.now();
  windows[window].ms += now - windowFrom;
  windowFrom = now;
};
let expected = performance.now() + RESOLUTION_MS;
const tick = (): void => {
  const now = performance.now();
  windows[window].delay.record(Math.max(1, Math.round((now - expected) * 1e6)));
  expected = now + RESOLUTION_MS;
  setTimeout(tick, RESOLUTION_MS).unref();
};
setTimeout(tick, RESOLUTION_MS).unref();
new PerformanceObserver((list) => {
  for (const gc of list.getEntries()) {
    const w = windows[window];
    w.gcMs += gc.duration;
    w.gcMaxMs = Math.max(w.gcMaxMs, gc.duration);
    if ((gc as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) w.majorGcs += 1;
  }
}).observe({ entryTypes: ['gc'] });
const windowFigures = (w: ReturnType<typeof newWindow>) => ({
  p99: w.delay.count === 0 ? 0 : w.delay.percentile(99) / 1e6,
  max: w.delay.count === 0 ? 0 : w.delay.max / 1e6,
  count: w.delay.count,
  gcMsPerS: w.ms === 0 ? 0 : (1000 * w.gcMs) / w.ms,
  gcMaxMs: w.gcMaxMs,
  majorGcsPerMin: w.ms === 0 ? 0 : (60_000 * w.majorGcs) / w.ms,
  seconds: w.ms / 1000,
});
process.on('message', (msg: unknown) => {
  const loop = (msg as { loop?: string } | null)?.loop;
  if (loop === 'snapshot' || loop === 'quiet') {
    closeWindow();
    window = loop;
    return;
  }
  if (loop === 'reset') {
    closeWindow();
    windows.snapshot = newWindow();
    windows.quiet = newWindow();
    return;
  }
  if (msg !== 'sample') return;
  closeWindow();
  const memory = process.memoryUsage();
  process.send?.({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    fds: readdirSync('/proc/self/fd').length,
    breakerOpens: plane.running.cache.redisState().breakerOpens,
    pageThreads: plane.running.backup.repo.workers.running,
    loop: { snapshot: windowFigures(windows.snapshot), quiet: windowFigures(windows.quiet) },
  });
});
process.on('SIGTERM', () => void stop());
// The parent went away without stopping us (it failed or was killed): stop, and leave nothing behind.
process.on('disconnect', () => void stop());
