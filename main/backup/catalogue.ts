import type { Database } from 'better-sqlite3';
import type { ManifestHeader } from './manifest';
import type { BackupPrune, BackupRestore, BackupSnapshot, BackupSource, BackupVerification, Retention } from './types';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

interface SourceRow {
  id: string;
  name: string;
  path: string;
  kind: 'app' | 'file';
  schedule: string | null;
  retention: string;
  continuous_seconds: number | null;
  created_at: number;
  last_run_at: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_error: string | null;
}

export interface SourceRecord {
  readonly id: string;
  readonly name: string;
  readonly path: string;
  readonly kind: 'app' | 'file';
  readonly schedule: string | null;
  readonly retention: Retention;
  readonly continuousSeconds: number | null;
  readonly createdAt: number;
  readonly lastRunAt: number | null;
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
  readonly lastError: string | null;
}

const toSource = (r: SourceRow): SourceRecord => ({
  id: r.id,
  name: r.name,
  path: r.path,
  kind: r.kind,
  schedule: r.schedule,
  retention: JSON.parse(r.retention) as Retention,
  continuousSeconds: r.continuous_seconds,
  createdAt: r.created_at,
  lastRunAt: r.last_run_at,
  lastSuccessAt: r.last_success_at,
  lastFailureAt: r.last_failure_at,
  lastError: r.last_error,
});

interface SnapshotRow {
  id: string;
  source_id: string;
  captured_at: number;
  trigger: string;
  page_size: number;
  page_count: number;
  image_hash: string;
  added_pages: number;
  added_bytes: number;
  duration_ms: number;
  v_at: number | null;
  v_ok: number | null;
  source_name: string | null;
}

interface VerificationRow {
  id: number;
  snapshot_id: string;
  source_id: string;
  at: number;
  ok: number;
  pages_checked: number;
  bad_pages: string;
  image_hash_ok: number;
  integrity: string;
  duration_ms: number;
}

interface RestoreRow {
  id: number;
  snapshot_id: string;
  source_id: string;
  target: string;
  in_place: number;
  safety_snapshot_id: string | null;
  at: number;
  ok: number;
  error: string | null;
  duration_ms: number;
}

const SNAPSHOT_SELECT = `
  SELECT s.*, src.name AS source_name, v.at AS v_at, v.ok AS v_ok
  FROM backup_snapshots s
  LEFT JOIN backup_sources src ON src.id = s.source_id
  LEFT JOIN backup_verifications v ON v.id = (SELECT max(id) FROM backup_verifications WHERE snapshot_id = s.id)`;

/** The backup capability's rows in the app's store: sources, and the record of everything done. */
export class BackupCatalogue {
  #onChange: () => void = () => undefined;

  constructor(private readonly db: Database) {}

  /** Called after every change of sources or snapshots (the fleet share re-publishes). */
  onChange(listener: () => void): void {
    this.#onChange = listener;
  }

  // ── sources ──
  sources(): SourceRecord[] {
    return (this.db.prepare('SELECT * FROM backup_sources ORDER BY kind, name').all() as SourceRow[]).map(toSource);
  }

  source(id: string): SourceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM backup_sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row === undefined ? undefined : toSource(row);
  }

  sourceByNameOrPath(name: string, path: string): SourceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM backup_sources WHERE name = ? OR path = ?').get(name, path) as SourceRow | undefined;
    return row === undefined ? undefined : toSource(row);
  }

  insertSource(s: Omit<SourceRecord, 'lastRunAt' | 'lastSuccessAt' | 'lastFailureAt' | 'lastError'>): void {
    this.db
      .prepare(
        `INSERT INTO backup_sources (id, name, path, kind, schedule, retention, continuous_seconds, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.id, s.name, s.path, s.kind, s.schedule, JSON.stringify(s.retention), s.continuousSeconds, s.createdAt);
    this.#onChange();
  }

  updateSource(id: string, change: { schedule: string | null; retention: Retention; continuousSeconds: number | null }): void {
    this.db
      .prepare('UPDATE backup_sources SET schedule = ?, retention = ?, continuous_seconds = ? WHERE id = ?')
      .run(change.schedule, JSON.stringify(change.retention), change.continuousSeconds, id);
    this.#onChange();
  }

  removeSource(id: string): boolean {
    const removed = this.db.prepare('DELETE FROM backup_sources WHERE id = ?').run(id).changes > 0;
    this.#onChange();
    return removed;
  }

  markRun(id: string, at: number): void {
    this.db.prepare('UPDATE backup_sources SET last_run_at = ? WHERE id = ?').run(at, id);
  }

  markSuccess(id: string, at: number): void {
    this.db.prepare('UPDATE backup_sources SET last_success_at = ?, last_error = NULL WHERE id = ?').run(at, id);
  }

  markFailure(id: string, at: number, error: string): void {
    this.db.prepare('UPDATE backup_sources SET last_failure_at = ?, last_error = ? WHERE id = ?').run(at, error, id);
  }

  sourceStats(id: string): { snapshots: number; logicalBytes: number; storedBytes: number } {
    const r = this.db
      .prepare(
        `SELECT count(*) AS n, coalesce(sum(page_size * page_count), 0) AS logical, coalesce(sum(added_bytes), 0) AS stored
         FROM backup_snapshots WHERE source_id = ?`,
      )
      .get(id) as { n: number; logical: number; stored: number };
    return { snapshots: r.n, logicalBytes: r.logical, storedBytes: r.stored };
  }

  toSourceDto(s: SourceRecord, nextRunAt: number | null): BackupSource {
    const stats = this.sourceStats(s.id);
    return {
      id: s.id,
      name: s.name,
      path: s.path,
      kind: s.kind,
      schedule: s.schedule,
      retention: s.retention,
      continuousSeconds: s.continuousSeconds,
      createdAt: iso(s.createdAt) as string,
      nextRunAt: iso(nextRunAt),
      lastSuccessAt: iso(s.lastSuccessAt),
      lastFailureAt: iso(s.lastFailureAt),
      lastError: s.lastError,
      ...stats,
      dedupRatio: stats.storedBytes > 0 ? Number((stats.logicalBytes / stats.storedBytes).toFixed(3)) : null,
    };
  }

  // ── snapshots ──
  insertSnapshot(h: ManifestHeader, added: { pages: number; bytes: number }, durationMs: number): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO backup_snapshots
         (id, source_id, captured_at, trigger, page_size, page_count, image_hash, added_pages, added_bytes, duration_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        h.id,
        h.sourceId,
        h.capturedAt,
        h.trigger,
        h.pageSize,
        h.pageCount,
        h.imageHash,
        added.pages,
        added.bytes,
        Math.round(durationMs),
      );
    this.#onChange();
  }

  snapshotIds(): string[] {
    return (this.db.prepare('SELECT id FROM backup_snapshots').all() as { id: string }[]).map((r) => r.id);
  }

  deleteSnapshot(id: string): void {
    this.db.prepare('DELETE FROM backup_snapshots WHERE id = ?').run(id);
    this.#onChange();
  }

  snapshot(id: string): BackupSnapshot | undefined {
    const row = this.db.prepare(`${SNAPSHOT_SELECT} WHERE s.id = ?`).get(id) as SnapshotRow | undefined;
    return row === undefined ? undefined : this.#snapshotDto(row);
  }

  /** Newest first; two captured in the same millisecond come in the order they were stored (rowid), not by their random ids. */
  snapshots(sourceId: string | undefined, limit: number, offset = 0): BackupSnapshot[] {
    const rows =
      sourceId === undefined
        ? (this.db
            .prepare(`${SNAPSHOT_SELECT} ORDER BY s.captured_at DESC, s.rowid DESC LIMIT ? OFFSET ?`)
            .all(limit, offset) as SnapshotRow[])
        : (this.db
            .prepare(`${SNAPSHOT_SELECT} WHERE s.source_id = ? ORDER BY s.captured_at DESC, s.rowid DESC LIMIT ? OFFSET ?`)
            .all(sourceId, limit, offset) as SnapshotRow[]);
    return rows.map((r) => this.#snapshotDto(r));
  }

  countSnapshots(sourceId: string | undefined): number {
    const row =
      sourceId === undefined
        ? this.db.prepare('SELECT count(*) AS n FROM backup_snapshots').get()
        : this.db.prepare('SELECT count(*) AS n FROM backup_snapshots WHERE source_id = ?').get(sourceId);
    return (row as { n: number }).n;
  }

  /** Snapshot ids ordered by when they were last verified (never first), for the rolling verify. */
  leastRecentlyVerified(limit: number): string[] {
    return (
      this.db
        .prepare(
          `SELECT s.id FROM backup_snapshots s
           LEFT JOIN (SELECT snapshot_id, max(at) AS last FROM backup_verifications GROUP BY snapshot_id) v ON v.snapshot_id = s.id
           ORDER BY coalesce(v.last, 0), s.captured_at LIMIT ?`,
        )
        .all(limit) as { id: string }[]
    ).map((r) => r.id);
  }

  /** Snapshots whose latest verification failed: known damaged, so retention does not count them as kept. */
  failedSnapshotIds(): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT s.id FROM backup_snapshots s
         JOIN backup_verifications v ON v.id = (SELECT max(id) FROM backup_verifications WHERE snapshot_id = s.id)
         WHERE v.ok = 0`,
      )
      .all() as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  #snapshotDto(r: SnapshotRow): BackupSnapshot {
    return {
      id: r.id,
      sourceId: r.source_id,
      sourceName: r.source_name ?? r.source_id,
      capturedAt: iso(r.captured_at) as string,
      trigger: r.trigger,
      pageSize: r.page_size,
      pageCount: r.page_count,
      logicalBytes: r.page_size * r.page_count,
      imageHash: r.image_hash,
      addedPages: r.added_pages,
      addedBytes: r.added_bytes,
      durationMs: r.duration_ms,
      lastVerification: r.v_at === null ? null : { at: iso(r.v_at) as string, ok: r.v_ok === 1 },
    };
  }

  // ── verifications, restores, prunes ──
  insertVerification(v: Omit<BackupVerification, 'id' | 'at'> & { at: number }): BackupVerification {
    const info = this.db
      .prepare(
        `INSERT INTO backup_verifications (snapshot_id, source_id, at, ok, pages_checked, bad_pages, image_hash_ok, integrity, duration_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        v.snapshotId,
        v.sourceId,
        v.at,
        v.ok ? 1 : 0,
        v.pagesChecked,
        JSON.stringify(v.badPages),
        v.imageHashOk ? 1 : 0,
        JSON.stringify(v.integrity),
        Math.round(v.durationMs),
      );
    return { ...v, id: Number(info.lastInsertRowid), at: iso(v.at) as string, durationMs: Math.round(v.durationMs) };
  }

  /** Newest first: all, one snapshot's, or (an array) the newest `limit` of each of several snapshots in one read. */
  verifications(snapshot: string | readonly string[] | undefined, limit: number): BackupVerification[] {
    const rows =
      snapshot === undefined
        ? (this.db.prepare('SELECT * FROM backup_verifications ORDER BY id DESC LIMIT ?').all(limit) as VerificationRow[])
        : typeof snapshot === 'string'
          ? (this.db
              .prepare('SELECT * FROM backup_verifications WHERE snapshot_id = ? ORDER BY id DESC LIMIT ?')
              .all(snapshot, limit) as VerificationRow[])
          : (this.db
              .prepare(
                `SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY snapshot_id ORDER BY id DESC) AS nth FROM backup_verifications
                   WHERE snapshot_id IN (${snapshot.map(() => '?').join(', ')})) WHERE nth <= ? ORDER BY id DESC`,
              )
              .all(...snapshot, limit) as VerificationRow[]);
    return rows.map((r) => ({
      id: r.id,
      snapshotId: r.snapshot_id,
      sourceId: r.source_id,
      at: iso(r.at) as string,
      ok: r.ok === 1,
      pagesChecked: r.pages_checked,
      badPages: JSON.parse(r.bad_pages) as number[],
      imageHashOk: r.image_hash_ok === 1,
      integrity: JSON.parse(r.integrity) as string[],
      durationMs: r.duration_ms,
    }));
  }

  insertRestore(r: Omit<BackupRestore, 'id' | 'at'> & { at: number }): BackupRestore {
    const info = this.db
      .prepare(
        `INSERT INTO backup_restores (snapshot_id, source_id, target, in_place, safety_snapshot_id, at, ok, error, duration_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.snapshotId,
        r.sourceId,
        r.target,
        r.inPlace ? 1 : 0,
        r.safetySnapshotId,
        r.at,
        r.ok ? 1 : 0,
        r.error,
        Math.round(r.durationMs),
      );
    return { ...r, id: Number(info.lastInsertRowid), at: iso(r.at) as string, durationMs: Math.round(r.durationMs) };
  }

  restores(limit: number): BackupRestore[] {
    return (this.db.prepare('SELECT * FROM backup_restores ORDER BY id DESC LIMIT ?').all(limit) as RestoreRow[]).map((r) => ({
      id: r.id,
      snapshotId: r.snapshot_id,
      sourceId: r.source_id,
      target: r.target,
      inPlace: r.in_place === 1,
      safetySnapshotId: r.safety_snapshot_id,
      at: iso(r.at) as string,
      ok: r.ok === 1,
      error: r.error,
      durationMs: r.duration_ms,
    }));
  }

  insertPrune(p: { at: number; removedSnapshots: number; removedPages: number; freedBytes: number }): BackupPrune {
    const info = this.db
      .prepare('INSERT INTO backup_prunes (at, removed_snapshots, removed_pages, freed_bytes) VALUES (?, ?, ?, ?)')
      .run(p.at, p.removedSnapshots, p.removedPages, p.freedBytes);
    return { ...p, id: Number(info.lastInsertRowid), at: iso(p.at) as string };
  }

  prunes(limit: number): BackupPrune[] {
    return (
      this.db.prepare('SELECT * FROM backup_prunes ORDER BY id DESC LIMIT ?').all(limit) as {
        id: number;
        at: number;
        removed_snapshots: number;
        removed_pages: number;
        freed_bytes: number;
      }[]
    ).map((r) => ({
      id: r.id,
      at: iso(r.at) as string,
      removedSnapshots: r.removed_snapshots,
      removedPages: r.removed_pages,
      freedBytes: r.freed_bytes,
    }));
  }
}
