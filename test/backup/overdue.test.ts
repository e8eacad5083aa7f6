import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERDUE_GRACE_MS } from '../../main/backup/backup-service';
import { makeDatabase, startFixture, type Fixture } from './backup-fixture';

// What the seeded `backup-overdue` alert rule reads (backup.overdue_seconds): it had no series, so it never fired.
describe('how overdue the scheduled backups are', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => fx.stop());

  it('is no data without a schedule, 0 within the grace after a due run, then the seconds past it until a good snapshot', async () => {
    const path = join(fx.dir, 'orders.db');
    makeDatabase(path, 20).close();
    expect(fx.service.overdueSeconds()).toBeNull();
    const registeredAt = fx.clock.now(); // 10:00:00
    const source = fx.service.registerSource({ name: 'orders', path, schedule: '0 * * * *' });
    expect(fx.service.overdueSeconds()).toBe(0);
    // Due at 11:00; within the grace the run may still be going.
    fx.clock.set(Date.parse('2026-01-05T11:00:00Z') + OVERDUE_GRACE_MS - 1_000);
    expect(fx.service.overdueSeconds()).toBe(0);
    fx.clock.set(Date.parse('2026-01-05T11:00:00Z') + OVERDUE_GRACE_MS + 90_000);
    expect(fx.service.overdueSeconds()).toBe(90);
    // A good snapshot now: the next due run is 12:00, so nothing is overdue.
    await fx.service.snapshot(source.id);
    expect(fx.service.overdueSeconds()).toBe(0);
    expect(registeredAt).toBe(Date.parse('2026-01-05T10:00:00Z'));
  });
});
