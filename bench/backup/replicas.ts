/**
 * `backup.replica-copy`: the first copy of a repository to a folder replica against `rclone copy` of
 * the same repository folder to another folder (Debian's rclone), same run, alternating. rclone does
 * not fsync what it writes, so its timed side ends with `sync -f` of the destination: the same
 * durability as ours, which fsyncs each file before it counts as sent. Without it the baseline
 * measures a copy into the page cache (the whole repository fits in memory) and never the disk;
 * that figure is printed beside it (`baseline_no_sync`).
 * `backup.replica-incremental`: bytes a replica push sends after 1% of the pages change, as a share of
 * the database (lower is better).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { dropCaches, median, oursFirst, progress, report } from '../lib';
import { freshService, type BenchDb } from './encrypted';

/** Rewrites rows on `share` of the pages, picked at random. */
function changePages(path: string, share: number): void {
  const db = new BetterSqlite3(path);
  const pages = db.pragma('page_count', { simple: true }) as number;
  const maxId = (db.prepare('SELECT max(id) AS m FROM items').get() as { m: number }).m;
  const update = db.prepare('UPDATE items SET body = hex(randomblob(400)) WHERE id = ?');
  db.transaction(() => {
    for (let i = 0; i < Math.round(pages * share); i += 1) update.run(1 + Math.floor(Math.random() * maxId));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

export async function benchReplicas({ work, src, sizeMiB, rounds }: BenchDb): Promise<void> {
  const hasRclone = spawnSync('which', ['rclone']).status === 0;
  if (!hasRclone) progress('rclone is missing (apt-get install -y rclone): backup.replica-copy has no baseline');
  const { service, stop } = await freshService(join(work, 'replicated'), work, true);
  const source = service.registerSource({ name: 'bench', path: src });
  await service.snapshot(source.id);
  const repoDir = join(work, 'replicated', 'repo');
  const repoMiB = service.repositoryStats().storedBytes / 1024 / 1024;
  const ours: number[] = [];
  const base: number[] = [];
  const baseNoSync: number[] = [];
  let replicaId = '';
  for (let r = 0; r < rounds; r += 1) {
    const oursSide = async (): Promise<void> => {
      const folder = join(work, `replica-${r}`);
      mkdirSync(folder);
      const replica = await service.replicas.add({ name: `folder-${r}`, kind: 'folder', path: folder });
      dropCaches();
      const t = performance.now();
      await service.replicas.sync(replica.id);
      const s = (performance.now() - t) / 1000;
      ours.push(repoMiB / s);
      progress(`replica-copy round ${r + 1}: ours ${s.toFixed(2)} s`);
      if (r < rounds - 1) {
        service.replicas.remove(replica.id);
        rmSync(folder, { recursive: true, force: true });
      } else replicaId = replica.id;
    };
    const baseSide = (): void => {
      if (!hasRclone) return;
      const folder = join(work, `rclone-${r}`);
      dropCaches();
      const t = performance.now();
      execFileSync('rclone', ['copy', repoDir, folder, '--config', '/dev/null']);
      const copied = (performance.now() - t) / 1000;
      execFileSync('sync', ['-f', folder]);
      const s = (performance.now() - t) / 1000;
      base.push(repoMiB / s);
      baseNoSync.push(repoMiB / copied);
      progress(`replica-copy round ${r + 1}: rclone copy ${copied.toFixed(2)} s, with sync -f ${s.toFixed(2)} s`);
      rmSync(folder, { recursive: true, force: true });
    };
    if (oursFirst(r)) {
      await oursSide();
      baseSide();
    } else {
      baseSide();
      await oursSide();
    }
  }
  report({
    bench: 'backup.replica-copy',
    ours: median(ours),
    baseline: hasRclone ? median(base) : null,
    unit: 'MiB/s of repository',
    goal: '>= 1',
    better: 'higher',
    order: 'alternating',
    rounds,
    repo_mib: +repoMiB.toFixed(1),
    db_mib: Math.round(sizeMiB),
    ours_is: 'first push to a folder replica (fsync per file, pack indexes built from index.db)',
    baseline_is: 'rclone copy of the repository folder to another folder, then sync -f of that folder',
    baseline_no_sync: hasRclone ? +median(baseNoSync).toFixed(1) : null,
    ours_rounds: ours.map((x) => +x.toFixed(1)),
    baseline_rounds: base.map((x) => +x.toFixed(1)),
  });

  const size = statSync(src).size;
  const shares: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    changePages(src, 0.01);
    await service.snapshot(source.id);
    const before = service.replicas.list().find((x) => x.id === replicaId)?.bytesSent ?? 0;
    const after = (await service.replicas.sync(replicaId)).bytesSent;
    shares.push((after - before) / size);
    progress(`replica-incremental round ${r + 1}: ${((after - before) / 1024).toFixed(0)} KiB sent`);
  }
  await stop();
  report({
    bench: 'backup.replica-incremental',
    ours: +median(shares).toFixed(5),
    baseline: null,
    unit: 'bytes sent ÷ database size after a 1% page change',
    goal: '<= 0.02',
    better: 'lower',
    order: 'single',
    rounds,
    counted: 'every byte the push wrote: new packs, their indexes, the manifest',
    ours_rounds: shares.map((x) => +x.toFixed(5)),
  });
}
