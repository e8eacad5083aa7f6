import { afterEach, beforeEach } from 'vitest';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { Metrics, Monitoring } from '../../main/monitoring';
import { tempDir } from '../helpers/temp-dir';
import { fakeClock } from './fake-clock';
import { monitoringDb } from './store';

/** What each test of a suite gets: a fresh monitoring service, its Prometheus metrics and its clock. */
export interface MonitoringUnderTest {
  readonly monitoring: Monitoring;
  readonly metrics: Metrics;
  readonly clock: ReturnType<typeof fakeClock>;
}

/**
 * Gives every test of the calling suite its own monitoring service (not started) on a fresh
 * monitoring database and data dir, with a fake clock; stops it and removes both after each test.
 * Read the fields inside a test: they are replaced before each one.
 */
export function monitoringPerTest(dirPrefix: string): MonitoringUnderTest {
  let current: (MonitoringUnderTest & { close(): Promise<void> }) | null = null;
  beforeEach(() => {
    const store = monitoringDb();
    const dir = tempDir(dirPrefix);
    const clock = fakeClock();
    const metrics = new Metrics();
    const monitoring = new Monitoring({
      db: store.db,
      redis: null,
      bus: new EventBus(),
      clock,
      logger: createLogger('silent'),
      metrics,
      dataDir: dir.path,
    });
    current = {
      monitoring,
      metrics,
      clock,
      async close() {
        await monitoring.stop();
        store.close();
        dir.remove();
      },
    };
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  const active = (): MonitoringUnderTest => {
    if (current === null) throw new Error('monitoringPerTest: read its fields inside a test');
    return current;
  };
  return {
    get monitoring() {
      return active().monitoring;
    },
    get metrics() {
      return active().metrics;
    },
    get clock() {
      return active().clock;
    },
  };
}
