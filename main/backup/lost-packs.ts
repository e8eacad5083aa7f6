import { statSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { hex } from './pack-files';
import type { PageRepository } from './page-repository';

/** A pack file the index named and the disk no longer has, and the snapshots that needed its pages. */
export interface LostPack {
  readonly id: string;
  readonly pages: number;
  readonly lostAt: number;
  readonly snapshots: readonly string[];
}

interface LostRow {
  id: string;
  pages: number;
  lost_at: number;
  snapshots: string;
}

/** The size of a pack file; -1 when there is none (gone, or not a regular file). */
function packFileBytes(path: string): number {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : -1;
  } catch {
    return -1;
  }
}

/**
 * Stats every pack the index names (one stat a pack, so cheap enough before each snapshot) and
 * forgets the index rows of those whose file is gone or shorter than the index says: a page the repository cannot read must not
 * be deduplicated against, or every later snapshot silently names it too. The next snapshot stores
 * those pages again. The loss is kept in `lost_packs` (index.db) with the snapshots whose manifests
 * named one of its pages, until a restore from a replica brings the pack back or those snapshots
 * verify again or are pruned (`settleLostPacks`). Returns the packs found lost by this call.
 */
export function forgetMissingPacks(repo: PageRepository, now: number): LostPack[] {
  const db = repo.db;
  // A pack cut short is as lost as a missing one: its later pages cannot be read either (a pack's
  // bytes are fixed once the index names it; a repack writes a new pack).
  const gone = (db.prepare('SELECT id, bytes FROM packs').all() as { id: string; bytes: number }[])
    .filter((r) => packFileBytes(repo.packPath(r.id)) < r.bytes)
    .map((r) => r.id);
  if (gone.length === 0) return [];
  const packOf = new Map<string, string>();
  const hashesOf = db.prepare('SELECT hash FROM pages WHERE pack = ?');
  for (const id of gone) for (const r of hashesOf.all(id) as { hash: Buffer }[]) packOf.set(hex(r.hash), id);
  const needs = new Map<string, Set<string>>(gone.map((id) => [id, new Set<string>()]));
  for (const h of repo.listManifests()) {
    let pages: Buffer;
    try {
      pages = repo.readManifest(h.id).pages;
    } catch {
      continue; // a manifest that does not read is listed as damaged on its own
    }
    for (let i = 0; i < h.pageCount; i += 1) {
      const pack = packOf.get(pages.subarray(i * 32, i * 32 + 32).toString('hex'));
      if (pack !== undefined) needs.get(pack)?.add(h.id);
    }
  }
  const lost = gone.map((id) => ({
    id,
    pages: [...packOf.values()].filter((p) => p === id).length,
    lostAt: now,
    snapshots: [...(needs.get(id) ?? [])],
  }));
  const insert = db.prepare('INSERT OR REPLACE INTO lost_packs (id, pages, lost_at, snapshots) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const l of lost) {
      insert.run(l.id, l.pages, l.lostAt, JSON.stringify(l.snapshots));
      db.prepare('DELETE FROM pages WHERE pack = ?').run(l.id);
      db.prepare('DELETE FROM packs WHERE id = ?').run(l.id);
    }
  })();
  return lost;
}

/** The losses not settled yet, oldest first. */
export function lostPacks(db: Database): LostPack[] {
  return (db.prepare('SELECT * FROM lost_packs ORDER BY lost_at, id').all() as LostRow[]).map((r) => ({
    id: r.id,
    pages: r.pages,
    lostAt: r.lost_at,
    snapshots: JSON.parse(r.snapshots) as string[],
  }));
}

/**
 * Settles losses: `settled` snapshots no longer count (verified sound again, or pruned); a loss with
 * no snapshot left that needs it is closed. Returns the packs whose loss was closed.
 */
export function settleLostPacks(db: Database, settled: (snapshotId: string) => boolean): string[] {
  const closed: string[] = [];
  const update = db.prepare('UPDATE lost_packs SET snapshots = ? WHERE id = ?');
  db.transaction(() => {
    for (const l of lostPacks(db)) {
      const left = l.snapshots.filter((id) => !settled(id));
      if (left.length === 0) {
        db.prepare('DELETE FROM lost_packs WHERE id = ?').run(l.id);
        closed.push(l.id);
      } else if (left.length !== l.snapshots.length) update.run(JSON.stringify(left), l.id);
    }
  })();
  return closed;
}

/** A lost pack fetched back from a replica (in the transaction that records it again). */
export function packFound(db: Database, id: string): void {
  db.prepare('DELETE FROM lost_packs WHERE id = ?').run(id);
}
