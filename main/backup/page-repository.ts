import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import { fsyncDir, writeFileAtomic } from './fs-durable';
import { decodeManifest, encodeManifest, type Manifest, type ManifestHeader } from './manifest';
import { hex, newPackId, PackHandles, PackWriter } from './pack-files';
import type { PageKeys, PageWorkers } from './page-workers';
import { isSealedManifest, openManifest, sealManifest, type RepoKeys } from './repo-crypto';
import { settleFormat, setMeta, type RepoFormat } from './repo-format';
import { TURN_BUDGET_MS } from './turn-budget';

/** The reason a damaged snapshot whose manifest file is gone is listed with. */
export const MANIFEST_MISSING = 'the manifest file is missing';

export interface RepositoryOptions {
  /** Brotli quality for page blobs (0–11; 1 is fast and already smaller than deflate). Default 1. */
  readonly compressionLevel?: number;
  /** A pack is closed and a new one started past this many bytes. Default 64 MiB. */
  readonly packTargetBytes?: number;
  /** Prune rewrites a pack once this share of its bytes is dead; below it, dead rows are just dropped. Default 0.25. */
  readonly repackThreshold?: number;
  /** Main-thread page work (index lookups, copies) per event-loop turn before it yields. Default TURN_BUDGET_MS. */
  readonly turnBudgetMs?: number;
}

export interface PageLocation {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  readonly codec: number;
}

export interface WriteResult {
  readonly addedPages: number;
  readonly addedBytes: number;
}

export interface SweepResult {
  readonly removedPages: number;
  readonly freedBytes: number;
  readonly packsDeleted: number;
  readonly packsRewritten: number;
}

export interface RepositoryStats {
  readonly pages: number;
  readonly packs: number;
  readonly storedBytes: number;
  readonly snapshots: number;
}

/**
 * The content-addressed page store. Each distinct page (by SHA-256) is stored once, compressed, in
 * append-only pack files; `index.db` maps a page hash to its pack, offset and length; a snapshot is a
 * manifest file naming its pages in order.
 *
 * Crash safety comes from ordering alone: pack bytes are written and fsynced before the index rows
 * naming them commit; a manifest is renamed into place only after every page it names is in the
 * index; prune deletes manifests first and pages second, and rewrites a pack before the index moves
 * to it. So a crash leaves at worst unreferenced bytes, which `open()` and the next prune remove.
 * That ordering argument spans the pack writes, the index and prune, so they stay in this one file;
 * reading pages back (page-reads.ts) is not part of it.
 */
export class PageRepository {
  readonly packsDir: string;
  readonly snapshotsDir: string;
  readonly tmpDir: string;
  readonly compressionLevel: number;
  readonly packTargetBytes: number;
  readonly repackThreshold: number;
  readonly turnBudgetMs: number;
  #db: Database | null = null;
  #lookup: Statement | null = null;
  #keys: RepoKeys | null = null;
  #format: RepoFormat = 'plain';
  #repoId = '';
  readonly #headers = new Map<string, ManifestHeader>();
  /** Manifests on disk that do not decode, or whose file is gone: snapshot id → what is wrong. Listed as damaged, never dropped. */
  readonly #damaged = new Map<string, string>();
  #startedEmpty = false;

  constructor(
    readonly dir: string,
    readonly workers: PageWorkers,
    options: RepositoryOptions = {},
  ) {
    this.packsDir = join(dir, 'packs');
    this.snapshotsDir = join(dir, 'snapshots');
    this.tmpDir = join(dir, 'tmp');
    this.compressionLevel = options.compressionLevel ?? 1;
    this.packTargetBytes = options.packTargetBytes ?? 64 * 1024 * 1024;
    this.repackThreshold = options.repackThreshold ?? 0.25;
    this.turnBudgetMs = options.turnBudgetMs ?? TURN_BUDGET_MS;
  }

  get db(): Database {
    if (this.#db === null) throw new Error('The backup repository is not open');
    return this.#db;
  }

  /** `plain`, `migrating` or `encrypted` (repo-format.ts). */
  get format(): RepoFormat {
    return this.#format;
  }

  get repoId(): string {
    return this.#repoId;
  }

  /** True when the last `open()` found no index and started an empty repository (first start, or a lost folder). */
  get startedEmpty(): boolean {
    return this.#startedEmpty;
  }

  get keys(): RepoKeys | null {
    return this.#keys;
  }

  /** What the workers seal and address new pages with: the keys once the repository is encrypted, else none. */
  get pageKeys(): PageKeys | null {
    return this.#format === 'encrypted' ? this.#keys : null;
  }

  /** Called by the migration as it moves through its steps. */
  setFormat(format: RepoFormat): void {
    this.db.transaction(() => {
      setMeta(this.db, 'format', format);
      if (this.#keys !== null) setMeta(this.db, 'key_id', this.#keys.id);
    })();
    this.#format = format;
  }

  /**
   * Opens the index and clears what an interrupted run left: temp files and packs no index row names.
   * `keys`: the repository's keys (repo-crypto.ts); an encrypted repository refuses to open without them.
   */
  open(keys: RepoKeys | null = null): void {
    // Owner-only, as the data directory around it: a repository is a copy of every source's pages.
    // mkdir keeps an existing folder's mode, so one an earlier version made 0755 is narrowed here.
    for (const d of [this.dir, this.packsDir, this.snapshotsDir, this.tmpDir]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      if ((statSync(d).mode & 0o077) !== 0) chmodSync(d, 0o700);
    }
    this.#startedEmpty = !existsSync(join(this.dir, 'index.db'));
    const db = new BetterSqlite3(join(this.dir, 'index.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS packs (id TEXT PRIMARY KEY, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS pages (
        hash BLOB PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL, codec INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS pages_by_pack ON pages (pack);
      CREATE TABLE IF NOT EXISTS lost_packs (id TEXT PRIMARY KEY, pages INTEGER NOT NULL, lost_at INTEGER NOT NULL, snapshots TEXT NOT NULL) STRICT;
    `);
    this.#db = db;
    this.#keys = keys;
    const empty =
      (db.prepare('SELECT count(*) AS n FROM packs').get() as { n: number }).n === 0 &&
      !readdirSync(this.snapshotsDir).some((f) => f.endsWith('.snap'));
    try {
      ({ format: this.#format, repoId: this.#repoId } = settleFormat(db, keys, empty));
    } catch (err) {
      this.close();
      throw err;
    }
    this.#lookup = db.prepare('SELECT pack, offset, length, codec FROM pages WHERE hash = ?');
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    const known = new Set((db.prepare('SELECT id FROM packs').all() as { id: string }[]).map((r) => r.id));
    for (const file of readdirSync(this.packsDir)) {
      if (!file.endsWith('.pack') || !known.has(file.slice(0, -5))) unlinkSync(join(this.packsDir, file));
    }
    this.#headers.clear();
    this.#damaged.clear();
    for (const file of readdirSync(this.snapshotsDir)) {
      if (!file.endsWith('.snap')) continue;
      try {
        const { pages: _pages, ...header } = this.decodeManifestFile(
          file.slice(0, -'.snap'.length),
          readFileSync(join(this.snapshotsDir, file)),
        );
        this.#headers.set(header.id, header);
      } catch (err) {
        // It stays on disk for an operator to look at, and is reported as damaged under its id.
        this.#damaged.set(file.slice(0, -'.snap'.length), (err as Error).message);
      }
    }
  }

  close(): void {
    this.#db?.close();
    this.#db = null;
    this.#lookup = null;
  }

  tempPath(label: string): string {
    return join(this.tmpDir, `${label}-${randomBytes(6).toString('hex')}`);
  }

  has(hash: Buffer): boolean {
    return (this.#lookup as Statement).get(hash) !== undefined;
  }

  locate(hash: Buffer): PageLocation | undefined {
    return (this.#lookup as Statement).get(hash) as PageLocation | undefined;
  }

  beginWrite(): PackWriter {
    return new PackWriter(this);
  }

  // ── manifests ────────────────────────────────────────────────────────────

  /** A manifest's bytes as this repository stores them: sealed to its id once the repository is not plain. */
  encodeManifestFile(manifest: Manifest): Buffer {
    const plain = encodeManifest(manifest);
    return this.#format === 'plain' || this.#keys === null ? plain : sealManifest(this.#keys, manifest.id, plain);
  }

  /** A sealed manifest needs the key; a plain one is refused once the repository is encrypted (it could only be planted). */
  decodeManifestFile(id: string, bytes: Buffer): Manifest {
    if (isSealedManifest(bytes)) {
      if (this.#keys === null) throw new Error('the manifest is sealed and the repository key is not loaded');
      return decodeManifest(openManifest(this.#keys, id, bytes));
    }
    if (this.#format === 'encrypted') throw new Error('a plain manifest in an encrypted repository');
    return decodeManifest(bytes);
  }

  writeManifest(manifest: Manifest): void {
    writeFileAtomic(join(this.snapshotsDir, `${manifest.id}.snap`), this.tempPath('manifest'), this.encodeManifestFile(manifest));
    const { pages: _pages, ...header } = manifest;
    this.#headers.set(header.id, header);
  }

  /** Every readable snapshot, oldest first. */
  listManifests(): ManifestHeader[] {
    return [...this.#headers.values()].sort((a, b) => a.capturedAt - b.capturedAt || a.id.localeCompare(b.id));
  }

  header(id: string): ManifestHeader | undefined {
    return this.#headers.get(id);
  }

  /** Snapshots whose manifest does not decode, with the reason. */
  damaged(): { id: string; file: string; error: string }[] {
    return [...this.#damaged].map(([id, error]) => ({ id, file: join(this.snapshotsDir, `${id}.snap`), error }));
  }

  readManifest(id: string): Manifest {
    const file = join(this.snapshotsDir, `${id}.snap`);
    try {
      return this.decodeManifestFile(id, readFileSync(file));
    } catch (err) {
      // A missing file is damage like a garbled one: the snapshot cannot be rebuilt (and the message names no path).
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? MANIFEST_MISSING : (err as Error).message;
      if (why === MANIFEST_MISSING) this.markMissing(id);
      else this.#damaged.set(id, why);
      throw new PhError('PH_BACKUP_DAMAGED', `The manifest of snapshot ${id} is damaged (${why})`, {
        details: { snapshotId: id },
        cause: err,
      });
    }
  }

  /** A snapshot the catalogue knows whose manifest file is gone: listed as damaged from now on. */
  markMissing(id: string): void {
    this.#headers.delete(id);
    this.#damaged.set(id, MANIFEST_MISSING);
  }

  /** Forgets a damaged snapshot whose manifest file is gone (prune settles them: nothing is left to keep). */
  forgetMissing(id: string): boolean {
    if (this.#damaged.get(id) !== MANIFEST_MISSING || existsSync(join(this.snapshotsDir, `${id}.snap`))) return false;
    return this.#damaged.delete(id);
  }

  deleteManifest(id: string): void {
    rmSync(join(this.snapshotsDir, `${id}.snap`), { force: true });
    this.#headers.delete(id);
  }

  syncManifests(): void {
    fsyncDir(this.snapshotsDir);
  }

  packHandles(): PackHandles {
    return new PackHandles(this.packsDir);
  }

  // ── prune ────────────────────────────────────────────────────────────────

  /** The mark-and-sweep's sweep: removes every page not in `live` (hex hashes), pack by pack. */
  async sweep(live: ReadonlySet<string>): Promise<SweepResult> {
    const db = this.db;
    let removedPages = 0;
    let freedBytes = 0;
    let packsDeleted = 0;
    let packsRewritten = 0;
    const packs = db.prepare('SELECT id, bytes FROM packs').all() as { id: string; bytes: number }[];
    const rowsOf = db.prepare('SELECT hash, offset, length, codec FROM pages WHERE pack = ? ORDER BY offset');
    const deletePage = db.prepare('DELETE FROM pages WHERE hash = ?');
    for (const pack of packs) {
      const rows = rowsOf.all(pack.id) as { hash: Buffer; offset: number; length: number; codec: number }[];
      const dead = rows.filter((r) => !live.has(hex(r.hash)));
      const liveRows = rows.filter((r) => live.has(hex(r.hash)));
      const liveBytes = liveRows.reduce((s, r) => s + r.length, 0);
      const path = join(this.packsDir, `${pack.id}.pack`);
      if (liveRows.length === 0) {
        db.transaction(() => {
          db.prepare('DELETE FROM pages WHERE pack = ?').run(pack.id);
          db.prepare('DELETE FROM packs WHERE id = ?').run(pack.id);
        })();
        rmSync(path, { force: true });
        removedPages += rows.length;
        freedBytes += pack.bytes;
        packsDeleted += 1;
        continue;
      }
      if (dead.length === 0) continue;
      if ((pack.bytes - liveBytes) / pack.bytes < this.repackThreshold) {
        db.transaction(() => dead.forEach((r) => deletePage.run(r.hash)))();
        removedPages += dead.length;
        continue;
      }
      // Copy the live blobs to a new pack (fsynced) before the index moves to it; only then unlink.
      const fresh = newPackId();
      const freshPath = join(this.packsDir, `${fresh}.pack`);
      const src = await open(path, 'r');
      const dst = await open(freshPath, 'w');
      const moved: { hash: Buffer; offset: number }[] = [];
      let at = 0;
      try {
        for (const r of liveRows) {
          const buf = Buffer.allocUnsafe(r.length);
          await src.read(buf, 0, r.length, r.offset);
          await dst.write(buf, 0, r.length, at);
          moved.push({ hash: r.hash, offset: at });
          at += r.length;
        }
        await dst.sync();
      } finally {
        await src.close();
        await dst.close();
      }
      fsyncDir(this.packsDir);
      db.transaction(() => {
        db.prepare('INSERT INTO packs (id, bytes, created_at) VALUES (?, ?, ?)').run(fresh, at, Date.now());
        const move = db.prepare('UPDATE pages SET pack = ?, offset = ? WHERE hash = ?');
        for (const m of moved) move.run(fresh, m.offset, m.hash);
        dead.forEach((r) => deletePage.run(r.hash));
        db.prepare('DELETE FROM packs WHERE id = ?').run(pack.id);
      })();
      rmSync(path, { force: true });
      removedPages += dead.length;
      freedBytes += pack.bytes - at;
      packsRewritten += 1;
    }
    fsyncDir(this.packsDir);
    return { removedPages, freedBytes, packsDeleted, packsRewritten };
  }

  stats(): RepositoryStats {
    const db = this.db;
    const pages = (db.prepare('SELECT count(*) AS n FROM pages').get() as { n: number }).n;
    const packs = db.prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM packs').get() as { n: number; b: number };
    return { pages, packs: packs.n, storedBytes: packs.b, snapshots: this.#headers.size };
  }

  /** For tests and tools: the pack file a page lives in. */
  packPath(pack: string): string {
    return join(this.packsDir, `${pack}.pack`);
  }

  hasPackFile(pack: string): boolean {
    return existsSync(this.packPath(pack)) && statSync(this.packPath(pack)).isFile();
  }
}
