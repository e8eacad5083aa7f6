import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackupService, backupMigrations, type BackupServiceOptions } from '../../main/backup';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';
import { fakeClock, makeDatabase, startFixture, type Fixture } from './backup-fixture';

async function until(check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('backup schedules, continuous mode, rolling verify and retention', () => {
  const dir = tempDir('ph-sched-');
  const appDbPath = join(dir.path, 'pilothouse.db');
  let store: BetterSqlite3.Database;
  const services: BackupService[] = [];
  const make = (extra: Partial<BackupServiceOptions>) => {
    const s = new BackupService({
      db: store,
      appDbPath,
      roots: [dir.path],
      repoDir: join(dir.path, 'repo'),
      clock: fakeClock(),
      logger: createLogger('silent'),
      bus: new EventBus(),
      workers: 1,
      appSchedule: null,
      maintenanceSchedule: null,
      ...extra,
    });
    services.push(s);
    return s;
  };
  beforeAll(() => {
    store = openStore({ path: appDbPath, migrations: backupMigrations });
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });
  afterAll(() => {
    store.close();
    dir.remove();
  });

  it('runs a schedule missed while the app was closed once at the next start', async () => {
    const path = join(dir.path, 'missed.db');
    makeDatabase(path, 20).close();
    const clock = fakeClock(Date.parse('2026-01-05T10:00:00Z'));
    const first = make({ clock });
    await first.start();
    const source = first.registerSource({ name: 'missed', path, schedule: '0 * * * *' });
    await first.stop();
    clock.set(Date.parse('2026-01-05T13:30:00Z')); // three hourly runs were missed
    const second = make({ clock });
    await second.start();
    await until(() => second.listSnapshots(source.id).length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const snaps = second.listSnapshots(source.id);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]?.trigger).toBe('missed');
    expect(second.listSources().find((s) => s.id === source.id)?.nextRunAt).not.toBeNull();
  });

  it('fires a cron schedule (seconds field) and records the run as scheduled, audited', async () => {
    const path = join(dir.path, 'cron.db');
    makeDatabase(path, 20).close();
    const audited: string[] = [];
    const s = make({ audit: (r) => audited.push(`${r.actor}:${r.action}:${r.outcome}`) });
    await s.start();
    const source = s.registerSource({ name: 'cron', path, schedule: '* * * * * *' });
    await until(() => s.listSnapshots(source.id).some((x) => x.trigger === 'schedule'));
    await until(() => audited.includes('scheduler:backup.snapshot:ok'));
    s.updateSource({ id: source.id, schedule: null });
  });

  it('continuous mode snapshots on its interval and each one stores only what changed', async () => {
    const path = join(dir.path, 'continuous.db');
    const db = makeDatabase(path, 2000);
    const s = make({});
    await s.start();
    const source = s.registerSource({ name: 'continuous', path, continuousSeconds: 1 });
    await until(() => s.listSnapshots(source.id).length >= 1);
    db.prepare('UPDATE t SET v = randomblob(200) WHERE id = 1000').run();
    await until(() => s.listSnapshots(source.id).length >= 2);
    const [newest] = s.listSnapshots(source.id);
    expect(newest?.trigger).toBe('continuous');
    expect(newest?.addedPages).toBeLessThanOrEqual(4);
    s.updateSource({ id: source.id, continuousSeconds: null });
    db.close();
  });
});

describe('backup retention through the service', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture({ rollingVerifyShare: 1 / 4 });
  });
  afterAll(async () => fx.stop());

  it('prune keeps what the source’s rules keep, forgets the rest, and the kept ones still restore', async () => {
    const path = join(fx.dir, 'keep.db');
    const db = makeDatabase(path, 200);
    const source = fx.service.registerSource({ name: 'keep', path, retention: { keepLast: 2 } });
    const t0 = Date.parse('2026-04-01T00:00:00Z');
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      fx.clock.set(t0 + i * 3_600_000);
      db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))').run();
      ids.push((await fx.service.snapshot(source.id)).id);
    }
    const { removedSnapshotIds, prune } = await fx.service.prune();
    expect(removedSnapshotIds.sort()).toEqual(ids.slice(0, 2).sort());
    expect(prune.removedPages).toBeGreaterThan(0);
    expect(fx.service.listSnapshots(source.id).map((s) => s.id)).toEqual([ids[3], ids[2]]);
    expect(fx.service.history().prunes[0]?.removedSnapshots).toBe(2);
    const v = await fx.service.verify(ids[2] as string);
    expect(v.ok).toBe(true);
    db.close();
  });

  it('the rolling verify checks the least recently verified share of snapshots each run', async () => {
    const path = join(fx.dir, 'rolling.db');
    makeDatabase(path, 50).close();
    const source = fx.service.registerSource({ name: 'rolling', path });
    for (let i = 0; i < 4; i += 1) await fx.service.snapshot(source.id);
    const total = fx.service.listSnapshots().length;
    const verifiedIds = new Set<string>();
    for (let run = 0; run < 4; run += 1) (await fx.service.rollingVerify()).forEach((v) => verifiedIds.add(v.snapshotId));
    // Four runs of a quarter each cover every snapshot.
    expect(verifiedIds.size).toBe(total);
  });
});
