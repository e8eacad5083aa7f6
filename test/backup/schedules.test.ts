import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackupService, backupMigrations, registerBackupJobs, type BackupServiceOptions } from '../../main/backup';
import { SqliteJobQueue, batchMigrations, type JobInfo } from '../../main/batch';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { fakeClock, makeDatabase, startFixture, type FakeClock, type Fixture } from './backup-fixture';

describe('backup schedules on the job queue, continuous mode, rolling verify and retention', () => {
  const dir = tempDir('ph-sched-');
  const appDbPath = join(dir.path, 'pilothouse.db');
  let store: BetterSqlite3.Database;
  const running: { stop(): Promise<void> }[] = [];
  /** A backup service with the job queue as its scheduler, on one clock, as the control plane wires them. */
  const make = async (extra: Partial<BackupServiceOptions> & { clock?: FakeClock } = {}) => {
    const clock = extra.clock ?? fakeClock();
    const s = new BackupService({
      db: store,
      appDbPath,
      roots: [dir.path],
      repoDir: join(dir.path, 'repo'),
      logger: createLogger('silent'),
      bus: new EventBus(),
      workers: 1,
      appSchedule: null,
      maintenanceSchedule: null,
      ...extra,
      clock,
    });
    const queue = new SqliteJobQueue(store, clock, createLogger('silent'), null, { pollMs: 20 });
    await queue.start();
    await s.start();
    registerBackupJobs(queue, s);
    // The service stops first: its in-flight runs settle while the queue still takes their results.
    running.push({ stop: () => s.stop() }, queue);
    return { service: s, queue, clock };
  };
  const stopAll = async () => {
    for (const r of running.splice(0)) await r.stop();
  };
  /** The source's repeating snapshot jobs still to run. */
  const scheduled = async (queue: SqliteJobQueue, sourceId: string): Promise<JobInfo[]> =>
    (await queue.list({ type: 'backup.snapshot' })).jobs.filter(
      (j) =>
        j.repeatCron !== null &&
        (j.state === 'delayed' || j.state === 'waiting') &&
        (j.payload as { sourceId: string }).sourceId === sourceId,
    );
  beforeAll(() => {
    store = openStore({ path: appDbPath, migrations: [...backupMigrations, ...batchMigrations] });
  });
  afterEach(stopAll);
  afterAll(() => {
    store.close();
    dir.remove();
  });

  it("keeps a source's schedule as one repeating job on the queue, replaced on change and gone on null", async () => {
    const path = join(dir.path, 'plan.db');
    makeDatabase(path, 20).close();
    const { service, queue, clock } = await make();
    const source = service.registerSource({ name: 'plan', path, schedule: '0 * * * *' });
    await until(async () => (await scheduled(queue, source.id)).length === 1, 5000, 'the repeating job');
    const [job] = await scheduled(queue, source.id);
    expect(job).toMatchObject({ repeatCron: '0 * * * *', state: 'delayed', runAt: new Date(clock.now() + 3_600_000).toISOString() });
    // What the console shows is when that job runs.
    expect(service.listSources().find((s) => s.id === source.id)?.nextRunAt).toBe(job?.runAt);
    service.updateSource({ id: source.id, schedule: '30 * * * *' });
    await until(async () => (await scheduled(queue, source.id)).every((j) => j.repeatCron === '30 * * * *'), 5000, 'the new schedule');
    expect(await scheduled(queue, source.id)).toHaveLength(1);
    expect((await queue.get(job?.id as string)).state).toBe('cancelled');
    service.updateSource({ id: source.id, schedule: null });
    await until(async () => (await scheduled(queue, source.id)).length === 0, 5000, 'no schedule');
    expect(service.listSources().find((s) => s.id === source.id)?.nextRunAt).toBeNull();
  });

  it("fires the schedule when the queue's clock reaches it, records the run as scheduled, audited, and sets the next", async () => {
    const path = join(dir.path, 'cron.db');
    makeDatabase(path, 20).close();
    const audited: string[] = [];
    const { service, queue, clock } = await make({ audit: (r) => audited.push(`${r.actor}:${r.action}:${r.outcome}:${r.detail}`) });
    const source = service.registerSource({ name: 'cron', path, schedule: '0 * * * *' });
    await until(async () => (await scheduled(queue, source.id)).length === 1, 5000, 'the repeating job');
    const [first] = await scheduled(queue, source.id);
    clock.set(Date.parse(first?.runAt as string) + 1000);
    await until(async () => (await queue.get(first?.id as string)).state === 'completed', 10_000, 'the scheduled run');
    expect(service.listSnapshots(source.id).map((x) => x.trigger)).toEqual(['schedule']);
    expect(audited).toContain('scheduler:backup.snapshot:ok:schedule');
    const [next] = await scheduled(queue, source.id);
    expect(Date.parse(next?.runAt as string)).toBe(Date.parse(first?.runAt as string) + 3_600_000);
  });

  it('runs a schedule missed while the node was down once when it is back, as a missed run', async () => {
    const path = join(dir.path, 'missed.db');
    makeDatabase(path, 20).close();
    const clock = fakeClock(Date.parse('2026-01-05T10:00:00Z'));
    const first = await make({ clock });
    const source = first.service.registerSource({ name: 'missed', path, schedule: '0 * * * *' });
    await until(async () => (await scheduled(first.queue, source.id)).length === 1, 5000, 'the repeating job');
    await stopAll();
    clock.set(Date.parse('2026-01-05T13:30:00Z')); // three hourly runs were missed
    const second = await make({ clock });
    const completed = async () =>
      (await second.queue.list({ type: 'backup.snapshot', state: 'completed' })).jobs.filter(
        (j) => (j.payload as { sourceId: string }).sourceId === source.id,
      );
    await until(async () => (await completed()).length > 0, 10_000, 'the late run');
    expect(await completed()).toHaveLength(1);
    // The queue runs a late repeating job once and plans the next from now: 14:00, not 11:00 and 12:00.
    const [next] = await scheduled(second.queue, source.id);
    expect(next?.runAt).toBe('2026-01-05T14:00:00.000Z');
    const snaps = second.service.listSnapshots(source.id);
    expect(snaps.map((x) => x.trigger)).toEqual(['missed']);
    expect(second.service.listSources().find((s) => s.id === source.id)?.nextRunAt).toBe(next?.runAt);
  });

  it('a changed schedule cancels a run of the old one under way, so the old schedule plans no next run', async () => {
    const path = join(dir.path, 'busy.db');
    makeDatabase(path, 20).close();
    const { service, queue, clock } = await make({ busyTimeoutMs: 3000 });
    const source = service.registerSource({ name: 'busy', path, schedule: '0 * * * *' });
    await until(async () => (await scheduled(queue, source.id)).length === 1, 5000, 'the repeating job');
    const [old] = await scheduled(queue, source.id);
    // A writer holds the source, so the scheduled run waits in its capture while the schedule changes.
    const writer = new BetterSqlite3(path);
    writer.exec('BEGIN EXCLUSIVE');
    try {
      clock.set(Date.parse(old?.runAt as string) + 1000);
      await until(async () => (await queue.get(old?.id as string)).state === 'active', 10_000, 'the run to start');
      service.updateSource({ id: source.id, schedule: '30 * * * *' });
      await until(async () => (await queue.get(old?.id as string)).cancelRequested, 5000, 'the cancel');
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    await until(async () => !['active', 'waiting'].includes((await queue.get(old?.id as string)).state), 10_000, 'the old run to end');
    await until(async () => (await scheduled(queue, source.id)).length > 0, 5000, 'the new schedule');
    expect((await scheduled(queue, source.id)).map((j) => j.repeatCron)).toEqual(['30 * * * *']);
  });

  it("runs this node's maintenance (prune, rolling verify) as a repeating job of its own on the queue", async () => {
    const audited: string[] = [];
    const { queue, clock } = await make({
      maintenanceSchedule: '15 4 * * *',
      audit: (r) => audited.push(`${r.actor}:${r.action}:${r.outcome}`),
    });
    const planned = async () =>
      (await queue.list({ type: 'backup.maintenance' })).jobs.filter((j) => j.state === 'delayed' && j.repeatCron === '15 4 * * *');
    await until(async () => (await planned()).length === 1, 5000, 'the maintenance job');
    const [job] = await planned();
    expect(job?.payload).toEqual({ node: 'local' });
    clock.set(Date.parse(job?.runAt as string) + 1000);
    await until(async () => (await queue.get(job?.id as string)).state === 'completed', 10_000, 'the maintenance run');
    expect(audited).toContain('scheduler:backup.prune:ok');
  });

  it('continuous mode snapshots on its interval and each one stores only what changed', async () => {
    const path = join(dir.path, 'continuous.db');
    const db = makeDatabase(path, 2000);
    const { service: s } = await make();
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
