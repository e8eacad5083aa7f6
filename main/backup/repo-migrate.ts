import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeManifest } from './manifest';
import type { PageRepository } from './page-repository';
import { fsyncDir } from './fs-durable';
import { isSealedManifest, SEALED } from './repo-crypto';
import { readBlobs } from './page-reads';

/** Pages moved per step; each step is one pack, fsynced, then one transaction. */
const STEP_PAGES = 1024;

export interface MigrationProgress {
  readonly pagesDone: number;
  readonly pagesTotal: number;
}

/**
 * Rewrites a plain repository as an encrypted one, in place. Resumable at every point, since each
 * step is crash-safe on its own and the next open picks up where the last stopped:
 * 1. pages: each plain page is read, checked against its SHA-256, addressed by HMAC, sealed and
 *    appended to a new pack; the pack is fsynced before one transaction records its pages and
 *    `migration_map` (old address → new). A crash mid-step leaves an unnamed pack, which open() deletes.
 * 2. manifests: each plain manifest is rewritten, sealed, with its page list mapped (atomic rename);
 *    a manifest already sealed is skipped. A page that failed its check maps to 32 zero bytes, so
 *    verification reports it as bad rather than the migration hiding it.
 * 3. the plain rows and the packs left without rows are removed, and the format becomes `encrypted`.
 */
export async function migrateToEncrypted(
  repo: PageRepository,
  onStep: (p: MigrationProgress) => void | Promise<void> = () => undefined,
  stepPages = STEP_PAGES,
): Promise<void> {
  const keys = repo.keys;
  if (keys === null) throw new Error('migration needs the repository key');
  const db = repo.db;
  db.exec('CREATE TABLE IF NOT EXISTS migration_map (old BLOB PRIMARY KEY, new BLOB NOT NULL) STRICT, WITHOUT ROWID');
  if (repo.format === 'plain') repo.setFormat('migrating');
  const mapped = db.prepare('SELECT new FROM migration_map WHERE old = ?');
  // The pages to move, by page size (blobs do not carry it; the manifests naming them do). Pages no
  // manifest names are dead: they are dropped with the plain rows, as the next prune would.
  const bySize = new Map<number, Map<string, Buffer>>();
  for (const h of repo.listManifests()) {
    const m = repo.readManifest(h.id);
    const set = bySize.get(m.pageSize) ?? new Map<string, Buffer>();
    bySize.set(m.pageSize, set);
    for (let i = 0; i < m.pageCount; i += 1) {
      const hash = m.pages.subarray(i * 32, i * 32 + 32);
      const key = hash.toString('hex');
      if (!set.has(key) && mapped.get(hash) === undefined && (repo.locate(hash)?.codec ?? SEALED) < SEALED) set.set(key, Buffer.from(hash));
    }
  }
  const pagesTotal = [...bySize.values()].reduce((n, s) => n + s.size, 0);
  let pagesDone = 0;
  for (const [pageSize, set] of bySize) {
    const all = [...set.values()];
    for (let i = 0; i < all.length; i += stepPages) {
      const olds = all.slice(i, i + stepPages);
      await migrateStep(repo, olds, pageSize);
      pagesDone += olds.length;
      await onStep({ pagesDone, pagesTotal });
    }
  }
  for (const file of readdirSync(repo.snapshotsDir)) {
    if (!file.endsWith('.snap')) continue;
    const bytes = readFileSync(join(repo.snapshotsDir, file));
    if (isSealedManifest(bytes)) continue;
    let manifest;
    try {
      manifest = decodeManifest(bytes);
    } catch {
      continue; // a damaged manifest stays as it is, listed as damaged
    }
    const pages = Buffer.alloc(manifest.pages.length);
    for (let i = 0; i < manifest.pageCount; i += 1) {
      const row = mapped.get(manifest.pages.subarray(i * 32, i * 32 + 32)) as { new: Buffer } | undefined;
      row?.new.copy(pages, i * 32);
    }
    repo.writeManifest({ ...manifest, pages });
  }
  const stale = db.prepare('SELECT id FROM packs WHERE id NOT IN (SELECT DISTINCT pack FROM pages WHERE codec >= ?)').all(SEALED) as {
    id: string;
  }[];
  db.transaction(() => {
    db.prepare('DELETE FROM pages WHERE codec < ?').run(SEALED);
    for (const p of stale) db.prepare('DELETE FROM packs WHERE id = ?').run(p.id);
    db.exec('DROP TABLE migration_map');
    repo.setFormat('encrypted');
  })();
  // A crash before these unlinks leaves packs no row names, which the next open() deletes.
  for (const p of stale) rmSync(repo.packPath(p.id), { force: true });
  fsyncDir(repo.packsDir);
}

async function migrateStep(repo: PageRepository, olds: Buffer[], pageSize: number): Promise<void> {
  const keys = repo.keys as NonNullable<typeof repo.keys>;
  const want = Buffer.concat(olds);
  const handles = repo.packHandles();
  let read;
  try {
    read = await readBlobs(repo, want, handles);
  } finally {
    await handles.close();
  }
  const expanded = await repo.workers.expandPages(read.blobs, read.lengths, read.codecs, pageSize);
  const bad = new Set(expanded.bad);
  const good: number[] = [];
  for (let i = 0; i < olds.length; i += 1) {
    if (!bad.has(i) && expanded.hashes.subarray(i * 32, i * 32 + 32).equals(olds[i] as Buffer)) good.push(i);
  }
  const moved = new Set(good);
  const pages = Buffer.alloc(good.length * pageSize);
  good.forEach((i, j) => expanded.pages.copy(pages, j * pageSize, i * pageSize, (i + 1) * pageSize));
  const news = await repo.workers.hashPages(pages, pageSize, keys);
  const sealed = await repo.workers.compressPages(pages, pageSize, repo.compressionLevel, keys, news);
  const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  const fh = await open(repo.packPath(id), 'w');
  try {
    await fh.write(sealed.blobs, 0, sealed.blobs.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  fsyncDir(repo.packsDir);
  const db = repo.db;
  const insertPage = db.prepare('INSERT OR IGNORE INTO pages (hash, pack, offset, length, codec) VALUES (?, ?, ?, ?, ?)');
  const insertMap = db.prepare('INSERT OR REPLACE INTO migration_map (old, new) VALUES (?, ?)');
  db.transaction(() => {
    db.prepare('INSERT INTO packs (id, bytes, created_at) VALUES (?, ?, ?)').run(id, sealed.blobs.length, Date.now());
    let off = 0;
    good.forEach((i, j) => {
      const h = news.subarray(j * 32, j * 32 + 32);
      const length = sealed.lengths[j] as number;
      insertPage.run(h, id, off, length, sealed.codecs[j] as number);
      insertMap.run(olds[i] as Buffer, h);
      off += length;
    });
    // A page that failed its check is mapped to zeros: recorded as done, reported as bad by verification.
    for (let i = 0; i < olds.length; i += 1) if (!moved.has(i)) insertMap.run(olds[i] as Buffer, Buffer.alloc(32));
  })();
}
