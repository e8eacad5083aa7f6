/**
 * `npm run bench -- backup`: Pilothouse's page-level snapshots against `sqlite3 .backup` + `gzip -1`
 * (full backup and restore speed) and `restic backup` (bytes added after 1% of pages change), plus the
 * p99 write latency a busy writer sees during a snapshot, encryption's cost (encrypted.ts) and
 * replica copies against rclone (replicas.ts). BENCH_BACKUP_MB sets the database size (default 500,
 * times PH_BENCH_SCALE), BENCH_BACKUP_ROUNDS the rounds (default 3, never fewer), BENCH_BACKUP_ONLY
 * (`encrypted`, `replicas`, comma-separated) runs only those lines.
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BackupService, backupMigrations } from '../../main/backup';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { dropCaches, median, oursFirst, progress, report, rounds, scaled } from '../lib';
import { benchEncryptedFull } from './encrypted';
import { benchReplicas } from './replicas';

const MB = Number(process.env.BENCH_BACKUP_MB ?? scaled(500, 5));
const ROUNDS = rounds(Number(process.env.BENCH_BACKUP_ROUNDS ?? 3));
const work = mkdtempSync(join(tmpdir(), 'ph-bench-backup-'));
const src = join(work, 'source.db');
const ONLY = new Set((process.env.BENCH_BACKUP_ONLY ?? '').split(',').filter((x) => x !== ''));

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
    roots: [work], // the source is generated in work/, the repository under it
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
  const db = { work, src, sizeMiB, rounds: ROUNDS };
  if (ONLY.size > 0) {
    if (ONLY.has('encrypted')) await benchEncryptedFull(db);
    if (ONLY.has('replicas')) await benchReplicas(db);
    return;
  }

  // ── backup.full and backup.restore ──
  const fullOurs: number[] = [];
  const fullBase: number[] = [];
  const restoreOurs: number[] = [];
  const restoreBase: number[] = [];
  let lastService: BackupService | null = null;
  let lastSourceId = '';
  // Whether each timed side started with the page cache dropped; any 'warm' makes the figures warm.
  const reads = new Set<'cold' | 'warm'>();
  for (let r = 0; r < ROUNDS; r += 1) {
    const dst = join(work, 'baseline.db');
    const backupBaseline = (): void => {
      rmSync(dst, { force: true });
      rmSync(`${dst}.gz`, { force: true });
      reads.add(dropCaches());
      const base = timed(() => {
        execFileSync('sqlite3', [src, `.backup ${dst}`]);
        execFileSync('gzip', ['-1', dst]);
      });
      fullBase.push(sizeMiB / base);
      progress(`round ${r + 1}: baseline .backup + gzip -1 ${base.toFixed(2)} s`);
    };
    await lastService?.stop();
    const service = newService(join(work, 'ours'));
    await service.start();
    const source = service.registerSource({ name: 'bench', path: src });
    let snapId = '';
    const backupOurs = async (): Promise<void> => {
      reads.add(dropCaches());
      const ours = await timedAsync(async () => {
        snapId = (await service.snapshot(source.id)).id;
      });
      fullOurs.push(sizeMiB / ours);
      progress(`round ${r + 1}: ours first snapshot ${ours.toFixed(2)} s`);
    };
    if (oursFirst(r)) {
      await backupOurs();
      backupBaseline();
    } else {
      backupBaseline();
      await backupOurs();
    }

    // A competent gzip user restores with one stream straight to the output file.
    const restoreBaseline = (): number => {
      const out = join(work, 'restored-base.db');
      rmSync(out, { force: true });
      reads.add(dropCaches());
      const seconds = timed(() => {
        execFileSync('sh', ['-c', `gunzip -c '${dst}.gz' > '${out}'`]);
      });
      restoreBase.push(sizeMiB / seconds);
      rmSync(out, { force: true });
      return seconds;
    };
    const restoreOursOnce = async (): Promise<number> => {
      const oursOut = join(work, 'restored-ours.db');
      rmSync(oursOut, { force: true });
      reads.add(dropCaches());
      const seconds = await timedAsync(() => service.restore({ snapshotId: snapId, targetPath: oursOut }));
      restoreOurs.push(sizeMiB / seconds);
      rmSync(oursOut, { force: true });
      return seconds;
    };
    let baseRestore = 0;
    let oursRestore = 0;
    if (oursFirst(r)) {
      oursRestore = await restoreOursOnce();
      baseRestore = restoreBaseline();
    } else {
      baseRestore = restoreBaseline();
      oursRestore = await restoreOursOnce();
    }
    progress(
      `round ${r + 1}: restore baseline ${baseRestore.toFixed(2)} s, ours ${oursRestore.toFixed(2)} s (with page, image and integrity checks)`,
    );
    lastService = service;
    lastSourceId = source.id;
  }
  const readsAre = reads.has('warm')
    ? 'warm (the page cache could not be dropped: not root)'
    : 'cold (page cache dropped before each side)';
  report({
    bench: 'backup.full',
    ours: median(fullOurs),
    baseline: median(fullBase),
    unit: 'MiB/s',
    goal: '>= 0.8',
    better: 'higher',
    order: 'alternating',
    reads: readsAre,
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
    goal: '>= 0.8',
    better: 'higher',
    order: 'alternating',
    reads: readsAre,
    rounds: ROUNDS,
    ours_includes: 'page hashes + image hash + integrity_check',
    baseline_is: 'gunzip -c straight to the output file',
    ours_rounds: restoreOurs.map((x) => +x.toFixed(1)),
    baseline_rounds: restoreBase.map((x) => +x.toFixed(1)),
  });

  // ── backup.incremental-size ──
  // Three rounds of a 1% change; each side's figure is everything its repository grew by (ours:
  // packs, index.db and its WAL, the manifest; restic: its whole repository), as a share of the db.
  const service = lastService as BackupService;
  const ourRepo = join(work, 'ours', 'repo');
  const resticDir = join(work, 'restic-src');
  const resticRepo = join(work, 'restic');
  const resticEnv = {
    ...process.env,
    RESTIC_PASSWORD: 'bench',
    RESTIC_REPOSITORY: resticRepo,
    RESTIC_CACHE_DIR: join(work, 'restic-cache'),
  };
  const hasRestic = spawnSync('which', ['restic']).status === 0;
  // restic gets a copy of the same (quiescent, checkpointed) file our snapshot read.
  const resticBackup = (): void => {
    copyFileSync(src, join(resticDir, 'source.db'));
    execFileSync('restic', ['backup', '-q', resticDir], { env: resticEnv });
  };
  if (hasRestic) {
    mkdirSync(resticDir, { recursive: true });
    execFileSync('restic', ['init', '-q'], { env: resticEnv });
    resticBackup();
  } else progress('restic is missing (apt-get install -y restic): backup.incremental-size has no baseline');
  const oursShares: number[] = [];
  const oursPageShares: number[] = [];
  const resticShares: number[] = [];
  const changedRows: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    changedRows.push(changePages(src, 0.01));
    const oursSide = async (): Promise<void> => {
      const before = dirBytes(ourRepo);
      const snap = await service.snapshot(lastSourceId);
      const added = dirBytes(ourRepo) - before;
      oursShares.push(added / size);
      oursPageShares.push(snap.addedBytes / size);
      progress(
        `incremental round ${r + 1}: ours added ${snap.addedPages} pages (${(snap.addedBytes / 1024 / 1024).toFixed(2)} MiB of page blobs), the repository grew ${(added / 1024 / 1024).toFixed(2)} MiB`,
      );
    };
    const resticSide = (): void => {
      if (!hasRestic) return;
      const before = dirBytes(resticRepo);
      resticBackup();
      const added = dirBytes(resticRepo) - before;
      resticShares.push(added / size);
      progress(`incremental round ${r + 1}: restic's repository grew ${(added / 1024 / 1024).toFixed(2)} MiB`);
    };
    if (oursFirst(r)) {
      await oursSide();
      resticSide();
    } else {
      resticSide();
      await oursSide();
    }
  }
  report({
    bench: 'backup.incremental-size',
    ours: +median(oursShares).toFixed(5),
    baseline: hasRestic ? +median(resticShares).toFixed(5) : null,
    unit: 'share of db added to the repository',
    goal: '<= 0.02',
    better: 'lower',
    order: 'alternating',
    rounds: ROUNDS,
    counted: 'whole repository growth on both sides (ours: packs, index, manifest)',
    ours_page_blobs_share: +median(oursPageShares).toFixed(5),
    ours_rounds: oursShares.map((x) => +x.toFixed(5)),
    baseline_rounds: resticShares.map((x) => +x.toFixed(5)),
    changed_rows: changedRows,
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
  const snapSeconds: number[] = [];
  // The snapshot is a scheduled one, as a busy source's would be: paced (backgroundSnapshotPace).
  const busyRound = async (): Promise<number[]> =>
    measure(async () => {
      snapSeconds.push(await timedAsync(() => writerService.snapshot(source.id, 'schedule')));
    });
  const quietRound = async (): Promise<number[]> =>
    measure(() => new Promise((resolve) => setTimeout(resolve, Math.max(2000, (snapSeconds.at(-1) ?? 2) * 1000))));
  for (let r = 0; r < ROUNDS; r += 1) {
    let busy: number[];
    let quiet: number[];
    if (oursFirst(r)) {
      busy = await busyRound();
      quiet = await quietRound();
    } else {
      quiet = await quietRound();
      busy = await busyRound();
    }
    const seconds = snapSeconds.at(-1) ?? 0;
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
    better: 'lower',
    order: 'alternating (quiet and during)',
    rounds: ROUNDS,
    p99_quiet_ms: +median(quietP99).toFixed(3),
    p99_during_ms: +median(busyP99).toFixed(3),
    p99_quiet_rounds: quietP99.map((x) => +x.toFixed(3)),
    p99_during_rounds: busyP99.map((x) => +x.toFixed(3)),
    snapshot: 'scheduled, paced (backgroundSnapshotPace 1)',
    snapshot_s: +median(snapSeconds).toFixed(1),
    snapshot_s_rounds: snapSeconds.map((x) => +x.toFixed(1)),
    snapshot_rounds_are: 'the first a full snapshot, the rest incremental (the writer’s changes)',
    unpaced_full_snapshot_s: +(sizeMiB / median(fullOurs)).toFixed(1),
  });
  // The writer has grown the database: the figures after it divide by its size now, not at the start.
  const grown: typeof db = { ...db, sizeMiB: statSync(src).size / 1024 / 1024 };
  progress(`source after the writer: ${grown.sizeMiB.toFixed(1)} MiB`);
  await benchEncryptedFull(grown);
  await benchReplicas(grown);
}

main()
  .catch((err: unknown) => {
    progress(`bench backup failed: ${String((err as Error).stack ?? err)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  });
