/**
 * The pack files of a page repository: the handles one operation reads them through, and the writer
 * that appends one snapshot's new pages to fresh packs and records them at commit.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './fs-durable';
import type { PageRepository, WriteResult } from './page-repository';
import { TurnBudget } from './turn-budget';

export const hex = (hash: Buffer): string => hash.toString('hex');
/** A pack's id: time-ordered, and random enough that two nodes or two runs never pick the same. */
export const newPackId = (): string => `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;

/** Open pack files for one operation, closed together at the end. */
export class PackHandles {
  readonly #open = new Map<string, Promise<FileHandle>>();

  constructor(private readonly dir: string) {}

  get(pack: string): Promise<FileHandle> {
    let fh = this.#open.get(pack);
    if (fh === undefined) {
      fh = open(join(this.dir, `${pack}.pack`), 'r');
      fh.catch(() => undefined);
      this.#open.set(pack, fh);
    }
    return fh;
  }

  async close(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (fh) => fh.close(),
          () => undefined,
        ),
      ),
    );
  }
}

interface PendingPage {
  hash: Buffer;
  pack: string;
  offset: number;
  length: number;
  codec: number;
}

/**
 * Adds the pages of one snapshot: skips those already stored (or already added in this write),
 * compresses the rest on the page workers and appends them to new pack files. Nothing is visible
 * until `commit()` fsyncs the packs and records them in the index in one transaction.
 */
export class PackWriter {
  readonly #pending = new Map<string, PendingPage>();
  readonly #packs: { id: string; bytes: number; fh: FileHandle | null }[] = [];
  #addedBytes = 0;

  constructor(private readonly repo: PageRepository) {}

  async #current(): Promise<{ id: string; bytes: number; fh: FileHandle | null }> {
    let cur = this.#packs.at(-1);
    if (cur === undefined || cur.bytes >= this.repo.packTargetBytes) {
      if (cur?.fh) {
        await cur.fh.sync();
        await cur.fh.close();
        cur.fh = null;
      }
      const id = newPackId();
      cur = { id, bytes: 0, fh: await open(join(this.repo.packsDir, `${id}.pack`), 'w') };
      this.#packs.push(cur);
    }
    return cur;
  }

  /** `pages` holds whole pages back to back; `hashes` their SHA-256s, 32 bytes each. Call in page order, one call at a time. */
  async add(pages: Buffer, hashes: Buffer, pageSize: number): Promise<void> {
    const n = hashes.length / 32;
    const fresh: number[] = [];
    // The lookups and copies run on the main thread, a few milliseconds a turn (turn-budget.ts).
    const budget = new TurnBudget(this.repo.turnBudgetMs);
    for (let i = 0; i < n; i += 1) {
      if (budget.spent()) await budget.yieldTurn();
      const h = hashes.subarray(i * 32, i * 32 + 32);
      const key = hex(h);
      if (this.#pending.has(key) || this.repo.has(h)) continue;
      this.#pending.set(key, { hash: Buffer.from(h), pack: '', offset: -1, length: 0, codec: 0 });
      fresh.push(i);
    }
    if (fresh.length === 0) return;
    // Spread the compression over every worker, then append the results in order.
    const parts = Math.max(1, Math.min(this.repo.workers.backgroundSize, Math.ceil(fresh.length / 16)));
    const per = Math.ceil(fresh.length / parts);
    const jobs = [];
    for (let p = 0; p < parts; p += 1) {
      const slice = fresh.slice(p * per, (p + 1) * per);
      if (slice.length === 0) continue;
      // When every page is fresh and goes to one worker, the worker gets `pages` itself (the caller
      // keeps it until this add is done): no 4 MiB copy, and no buffer for the main thread's GC.
      const all = slice.length * pageSize === pages.length;
      const buf = all ? pages : Buffer.allocUnsafe(slice.length * pageSize);
      // Otherwise a run of adjacent fresh pages is one copy.
      for (let j = 0; !all && j < slice.length;) {
        if (budget.spent()) await budget.yieldTurn();
        let end = j + 1;
        while (end < slice.length && (slice[end] as number) === (slice[end - 1] as number) + 1) end += 1;
        const from = slice[j] as number;
        pages.copy(buf, j * pageSize, from * pageSize, (from + end - j) * pageSize);
        j = end;
      }
      const keys = this.repo.pageKeys;
      const sliceHashes = keys === null ? null : Buffer.alloc(slice.length * 32);
      if (sliceHashes !== null) slice.forEach((idx, j) => hashes.copy(sliceHashes, j * 32, idx * 32, idx * 32 + 32));
      jobs.push(this.repo.workers.compressPages(buf, pageSize, this.repo.compressionLevel, keys, sliceHashes).then((c) => ({ slice, c })));
    }
    for (const { slice, c } of await Promise.all(jobs)) {
      const cur = await this.#current();
      await (cur.fh as FileHandle).write(c.blobs, 0, c.blobs.length, cur.bytes);
      let off = cur.bytes;
      slice.forEach((idx, j) => {
        const entry = this.#pending.get(hex(hashes.subarray(idx * 32, idx * 32 + 32))) as PendingPage;
        entry.pack = cur.id;
        entry.offset = off;
        entry.length = c.lengths[j] as number;
        entry.codec = c.codecs[j] as number;
        off += entry.length;
      });
      cur.bytes = off;
      this.#addedBytes += c.blobs.length;
    }
  }

  async commit(): Promise<WriteResult> {
    for (const p of this.#packs) {
      if (p.fh) {
        await p.fh.sync();
        await p.fh.close();
        p.fh = null;
      }
    }
    if (this.#packs.length > 0) fsyncDir(this.repo.packsDir);
    const db = this.repo.db;
    const insertPack = db.prepare('INSERT INTO packs (id, bytes, created_at) VALUES (?, ?, ?)');
    const insertPage = db.prepare('INSERT OR IGNORE INTO pages (hash, pack, offset, length, codec) VALUES (?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const p of this.#packs) insertPack.run(p.id, p.bytes, Date.now());
      for (const e of this.#pending.values()) insertPage.run(e.hash, e.pack, e.offset, e.length, e.codec);
    })();
    return { addedPages: this.#pending.size, addedBytes: this.#addedBytes };
  }

  async abort(): Promise<void> {
    for (const p of this.#packs) {
      await p.fh?.close().catch(() => undefined);
      p.fh = null;
      rmSync(join(this.repo.packsDir, `${p.id}.pack`), { force: true });
    }
  }
}
