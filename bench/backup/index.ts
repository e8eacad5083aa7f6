/**
 * `npm run bench -- backup`: Pilothouse's page-level snapshots against `sqlite3 .backup` + `gzip -1`
 * (full backup and restore speed) and `restic backup` (bytes added after 1% of pages change), plus the
 * p99 write latency a busy writer sees during a snapshot. BENCH_BACKUP_MB sets the database size
 * (default 500), BENCH_BACKUP_ROUNDS the rounds (default 3).
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BackupService, backupMigrations } from '../../main/backup';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { median, progress, report } from '../lib';

const MB = Number(process.env.BENCH_BACKUP_MB ?? 500);
const ROUNDS = Number(process.env.BENCH_BACKUP_ROUNDS ?? 3);
const work = mkdtempSync(join(tmpdir(), 'ph-bench-backup-'));
const src = join(work, 'source.db');

function need(cmd: string, hint: string): void {
  if (spawnSync('which', [cmd]).status !== 0) {
    progress(`${cmd} is missing: ${hint}`);
    process.exit(2);
  }
}
need('sqlite3', 'apt-get install -y sqlite3');
need('gzip', 'apt-get install -y gzip');

const timed = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
};
const timedAsync = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};
const dirBytes = (dir: string): number => {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
};
const dropCaches = () => spawnSync('sync');

/** An application-like table: short text key, ~800 chars of hex text (compresses about 2:1), a number. */
function generate(path: string, mb: number): void {
  const db = new BetterSqlite3(path);
  db.pragma('page_size = 4096');
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL, n INTEGER NOT NULL)');
  const rows = Math.round((mb * 1024 * 1024) / 880);
  const batch = 20_000;
  for (let done = 0; done < rows; done += batch) {
    const n = Math.min(batch, rows - done);
    db.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n})
             INSERT INTO items (name, body, n) SELECT hex(randomblob(8)), hex(randomblob(400)), abs(random() % 1000000) FROM c`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Rewrites rows on `share` of the pages, picked at random (about 4 rows a page). */
function changePages(path: string, share: number): number {
  const db = new BetterSqlite3(path);
  const pages = db.pragma('page_count', { simple: true }) as number;
  const maxId = (db.prepare('SELECT max(id) AS m FROM items').get() as { m: number }).m;
  const update = db.prepare('UPDATE items SET body = hex(randomblob(400)) WHERE id = ?');
  const count = Math.round(pages * share);
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) update.run(1 + Math.floor(Math.random() * maxId));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return count;
}

function newService(dir: string): BackupService {
  rmSync(dir, { recursive: true, force: true });
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
    appSchedule: null,
    maintenanceSchedule: null,
    busyTimeoutMs: 30_000,
  });
  const stop = service.stop.bind(service);
  service.stop = async () => {
    await stop();
    store.close();
  };
  return service;
}

async function main(): Promise<void> {
  progress(`generating a ${MB} MiB database in ${work}`);
  generate(src, MB);
  const size = statSync(src).size;
  const sizeMiB = size / 1024 / 1024;
  progress(`source: ${sizeMiB.toFixed(1)} MiB, ${size / 4096} pages`);

  // ── backup.full and backup.restore ──
  const fullOurs: number[] = [];
  const fullBase: number[] = [];
  const restoreOurs: number[] = [];
  const restoreBase: number[] = [];
  let lastService: BackupService | null = null;
  let lastSnapshotId = '';
  let lastSourceId = '';
  for (let r = 0; r < ROUNDS; r += 1) {
    const dst = join(work, 'baseline.db');
    rmSync(dst, { force: true });
    rmSync(`${dst}.gz`, { force: true });
    dropCaches();
    const base = timed(() => {
      execFileSync('sqlite3', [src, `.backup ${dst}`]);
      execFileSync('gzip', ['-1', dst]);
    });
    fullBase.push(sizeMiB / base);
    progress(`round ${r + 1}: baseline .backup + gzip -1 ${base.toFixed(2)} s`);

    await lastService?.stop();
    const service = newService(join(work, 'ours'));
    await service.start();
    const source = service.registerSource({ name: 'bench', path: src });
    dropCaches();
    let snapId = '';
    const ours = await timedAsync(async () => {
      snapId = (await service.snapshot(source.id)).id;
    });
    fullOurs.push(sizeMiB / ours);
    progress(`round ${r + 1}: ours first snapshot ${ours.toFixed(2)} s`);

    const out = join(work, 'restored-base.db');
    rmSync(out, { force: true });
    const tmpOut = join(work, 'gunzipped.db');
    dropCaches();
    const baseRestore = timed(() => {
      execFileSync('sh', ['-c', `gunzip -c '${dst}.gz' > '${tmpOut}' && cp '${tmpOut}' '${out}'`]);
    });
    restoreBase.push(sizeMiB / baseRestore);
    rmSync(tmpOut, { force: true });
    rmSync(out, { force: true });
    const oursOut = join(work, 'restored-ours.db');
    rmSync(oursOut, { force: true });
    dropCaches();
    const oursRestore = await timedAsync(() => service.restore({ snapshotId: snapId, targetPath: oursOut }));
    restoreOurs.push(sizeMiB / oursRestore);
    rmSync(oursOut, { force: true });
    progress(
      `round ${r + 1}: restore baseline ${baseRestore.toFixed(2)} s, ours ${oursRestore.toFixed(2)} s (with page, image and integrity checks)`,
    );
    lastService = service;
    lastSnapshotId = snapId;
    lastSourceId = source.id;
  }
  report({
    bench: 'backup.full',
    ours: median(fullOurs),
    baseline: median(fullBase),
    unit: 'MiB/s',
    rounds: ROUNDS,
    db_mib: Math.round(sizeMiB),
    ours_rounds: fullOurs.map((x) => +x.toFixed(1)),
    baseline_rounds: fullBase.map((x) => +x.toFixed(1)),
  });
  report({
    bench: 'backup.restore',
    ours: median(restoreOurs),
    baseline: median(restoreBase),
    unit: 'MiB/s',
    rounds: ROUNDS,
    ours_includes: 'page hashes + image hash + integrity_check',
    ours_rounds: restoreOurs.map((x) => +x.toFixed(1)),
    baseline_rounds: restoreBase.map((x) => +x.toFixed(1)),
  });

  // ── backup.incremental-size ──
  const service = lastService as BackupService;
  const changed = changePages(src, 0.01);
  const second = await service.snapshot(lastSourceId);
  const oursShare = second.addedBytes / size;
  progress(
    `1% change (${changed} row rewrites): ours added ${second.addedPages} pages, ${(second.addedBytes / 1024 / 1024).toFixed(2)} MiB (first snapshot ${lastSnapshotId})`,
  );
  let resticShare: number | null = null;
  if (spawnSync('which', ['restic']).status === 0) {
    const repo = join(work, 'restic');
    const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(work, 'restic-cache') };
    // Same data for restic: undo the change by taking the first state from our own restore.
    const before = join(work, 'restic-src', 'source.db');
    rmSync(join(work, 'restic-src'), { recursive: true, force: true });
    execFileSync('mkdir', ['-p', join(work, 'restic-src')]);
    await service.restore({ snapshotId: lastSnapshotId, targetPath: before });
    execFileSync('restic', ['init', '-q'], { env });
    execFileSync('restic', ['backup', '-q', join(work, 'restic-src')], { env });
    const after1 = dirBytes(repo);
    rmSync(before);
    await service.restore({ snapshotId: second.id, targetPath: before });
    execFileSync('restic', ['backup', '-q', join(work, 'restic-src')], { env });
    resticShare = (dirBytes(repo) - after1) / size;
    progress(`restic added ${((dirBytes(repo) - after1) / 1024 / 1024).toFixed(2)} MiB for the same change`);
  } else progress('restic is missing (apt-get install -y restic): backup.incremental-size has no baseline');
  report({
    bench: 'backup.incremental-size',
    ours: +oursShare.toFixed(5),
    baseline: resticShare === null ? null : +resticShare.toFixed(5),
    unit: 'share of db added',
    goal: '<= 0.02, lower is better (ratio < 1 means ours adds less)',
    changed_rows: changed,
  });

  // ── backup.writer-impact ──
  await service.stop();
  const writerService = newService(join(work, 'ours-writer'));
  await writerService.start();
  const source = writerService.registerSource({ name: 'busy', path: src });
  const writer = fork(join(import.meta.dirname, 'writer.ts'), [src], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve) => writer.once('message', () => resolve()));
  const measure = async (during: () => Promise<void>): Promise<number[]> => {
    writer.send('start');
    await during();
    writer.send('stop');
    return new Promise((resolve) => writer.once('message', (m: { latencies: number[] }) => resolve(m.latencies)));
  };
  const p99 = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] as number;
  };
  const quietP99: number[] = [];
  const busyP99: number[] = [];
  let snapSeconds = 0;
  for (let r = 0; r < ROUNDS; r += 1) {
    let seconds = 0;
    const busy = await measure(async () => {
      seconds = await timedAsync(() => writerService.snapshot(source.id));
    });
    snapSeconds = seconds;
    const quiet = await measure(() => new Promise((resolve) => setTimeout(resolve, Math.max(2000, seconds * 1000))));
    quietP99.push(p99(quiet));
    busyP99.push(p99(busy));
    progress(
      `writer round ${r + 1}: p99 ${p99(quiet).toFixed(3)} ms quiet (${quiet.length} writes), ${p99(busy).toFixed(3)} ms during a ${seconds.toFixed(1)} s snapshot (${busy.length} writes)`,
    );
  }
  writer.send('exit');
  await writerService.stop();
  report({
    bench: 'backup.writer-impact',
    ours: +(median(busyP99) / median(quietP99)).toFixed(3),
    baseline: null,
    unit: 'p99 during ÷ p99 without',
    goal: '<= 1.2',
    p99_quiet_ms: +median(quietP99).toFixed(3),
    p99_during_ms: +median(busyP99).toFixed(3),
    snapshot_s: +snapSeconds.toFixed(1),
  });
}

main()
  .catch((err: unknown) => {
    progress(`bench backup failed: ${String((err as Error).stack ?? err)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  });
