/**
 * The process the crash test kills. It runs, forever: write a few rows to the target database, take a
 * snapshot, prune (keep the last 3), restore a random snapshot in place. Before each in-place restore
 * it records the target's current hash and the snapshot's image hash in `intent.json`, so the parent
 * can check that after a SIGKILL the target is exactly one of the two.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BackupService, backupMigrations } from '../../../main/backup';
import { writeFileAtomic } from '../../../main/backup/fs-durable';
import { rowsDigest } from './rows-digest';
import { EventBus } from '../../../main/events';
import { createLogger } from '../../../main/logger';
import { openStore } from '../../../main/store';

const dir = process.argv[2] as string;
const target = join(dir, 'target.db');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

async function main(): Promise<void> {
  // An intent left by the previous (killed) child has been checked by the parent; it is stale now.
  rmSync(join(dir, 'intent.json'), { force: true });
  const appDbPath = join(dir, 'pilothouse.db');
  const store = openStore({ path: appDbPath, migrations: backupMigrations });
  const service = new BackupService({
    db: store,
    appDbPath,
    roots: [dir],
    repoDir: join(dir, 'repo'),
    clock: { now: () => Date.now() },
    logger: createLogger('silent'),
    bus: new EventBus(),
    workers: 1,
    appSchedule: null,
    maintenanceSchedule: null,
  });
  await service.start();
  const writeRows = () => {
    const db = new BetterSqlite3(target);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const n = 1 + Math.floor(Math.random() * 40);
    db.transaction(() => {
      for (let i = 0; i < n; i += 1) db.prepare('INSERT INTO t (v) VALUES (randomblob(?))').run(50 + Math.floor(Math.random() * 400));
      db.prepare('DELETE FROM t WHERE id % 7 = ?').run(Math.floor(Math.random() * 7));
    })();
    db.close();
  };
  writeRows();
  let source = service.listSources().find((s) => s.name === 'target');
  source ??= service.registerSource({ name: 'target', path: target, retention: { keepLast: 3 } });
  // The page workers' threads start before the kill window opens, so the window covers the loop's
  // snapshot, prune and restore rather than thread start-up.
  await service.repo.workers.hashFile(target);
  process.stdout.write('ready\n');
  const debug = process.env.CRASH_DEBUG === '1' ? (m: string) => process.stdout.write(`${m}\n`) : () => undefined;
  for (;;) {
    writeRows();
    debug('wrote');
    await service.snapshot(source.id);
    debug('snapshot');
    await service.prune();
    debug('pruned');
    const snaps = service.listSnapshots(source.id);
    const pick = snaps[Math.floor(Math.random() * snaps.length)];
    if (pick === undefined) continue;
    writeFileAtomic(
      join(dir, 'intent.json'),
      join(dir, 'intent.tmp'),
      Buffer.from(JSON.stringify({ old: sha(target), oldRows: rowsDigest(target), new: pick.imageHash })),
    );
    await service.restore({ snapshotId: pick.id, inPlace: true });
    rmSync(join(dir, 'intent.json'));
    debug('restored');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`crash child failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
