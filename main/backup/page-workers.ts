import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PAGE_WORKER_SOURCE } from './page-worker-source';

export const CODEC_RAW = 0;
export const CODEC_DEFLATE = 1;
export const CODEC_BROTLI = 2;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export interface CompressedPages {
  /** The blobs back to back, in page order. */
  readonly blobs: Buffer;
  readonly lengths: Uint32Array;
  readonly codecs: Uint8Array;
}

export interface ExpandedPages {
  readonly pages: Buffer;
  /** SHA-256 of each expanded page, 32 bytes each (zeros for a page that did not expand). */
  readonly hashes: Buffer;
  /** Indexes of blobs that failed to decompress or had the wrong length. */
  readonly bad: number[];
}

const asBuffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

function sqliteModulePath(): string {
  const req = typeof require === 'function' ? require : createRequire(import.meta.url);
  return req.resolve('better-sqlite3');
}

/**
 * A small pool of worker threads doing the heavy, CPU-bound page work (SHA-256, deflate, inflate,
 * whole-file hashes, integrity checks) so the main thread, which serves the console and the API,
 * only moves buffers around. Requests go to the worker with the fewest outstanding ones.
 */
export class PageWorkers {
  readonly size: number;
  #slots: Slot[] = [];
  #nextId = 1;
  #nextStream = 1;
  readonly #streamSlots = new Map<number, number>();
  #closed = false;
  /** Ends the threads once the pool has been idle `idleMs`, so their heaps go back after a snapshot. */
  #idleTimer: NodeJS.Timeout | null = null;
  readonly #idleMs: number;

  /**
   * Snapshots are background work: their hashing and compression use only `backgroundSize` workers
   * (one fewer than the pool, at least 1), leaving a core to the databases' own writers. Restore and
   * verify, which an operator is waiting on, use them all.
   */
  readonly backgroundSize: number;

  /**
   * Default: one worker fewer than the cores, 1–4. On the 2-core build machine a second worker made
   * both snapshot and restore slower (the main thread, which reads, looks pages up and writes, was
   * starved); see docs/bench-results/backup.md.
   */
  constructor(size = Math.max(1, Math.min(4, availableParallelism() - 1)), options: { idleMs?: number } = {}) {
    this.size = size;
    this.backgroundSize = Math.max(1, size - 1);
    this.#idleMs = options.idleMs ?? 30_000;
  }

  /** Threads running now: 0 before the first call and after an idle spell. */
  get running(): number {
    return this.#slots.length;
  }

  #ensure(): void {
    if (this.#closed) throw new Error('The page workers are closed');
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#slots.length > 0) return;
    const workerData = { sqliteModule: sqliteModulePath() };
    for (let i = 0; i < this.size; i += 1) {
      const worker = new Worker(PAGE_WORKER_SOURCE, { eval: true, workerData });
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (msg: { id: number; ok: boolean; error?: string; code?: string }) => {
        const p = slot.pending.get(msg.id);
        if (p === undefined) return;
        slot.pending.delete(msg.id);
        if (slot.pending.size === 0) {
          worker.unref();
          this.#releaseWhenIdle();
        }
        if (msg.ok) p.resolve(msg);
        // The code (SQLITE_BUSY, ENOENT...) lets the caller map the failure to the catalogue.
        else p.reject(Object.assign(new Error(msg.error ?? 'page worker failed'), typeof msg.code === 'string' ? { code: msg.code } : {}));
      });
      const failAll = (err: Error) => {
        for (const p of slot.pending.values()) p.reject(err);
        slot.pending.clear();
      };
      worker.on('error', failAll);
      worker.on('exit', (code) => failAll(new Error(`page worker exited with code ${code}`)));
      worker.unref(); // an idle pool never keeps the process alive; a busy one does (see #call)
      this.#slots.push(slot);
    }
  }

  #call<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = [], background = false): Promise<T> {
    this.#ensure();
    const slots = background ? this.#slots.slice(0, this.backgroundSize) : this.#slots;
    let slot = slots[0] as Slot;
    for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      slot.worker.ref();
      slot.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** SHA-256 of each `pageSize` slice of `pages`; 32 bytes a page, in order. Background (snapshot) work. */
  async hashPages(pages: Buffer, pageSize: number): Promise<Buffer> {
    const r = await this.#call<{ hashes: Uint8Array }>({ op: 'hash', buf: pages, pageSize }, [], true);
    return asBuffer(r.hashes);
  }

  /** Compresses each page alone (brotli at quality `level`); a page that does not shrink is kept raw. */
  async compressPages(pages: Buffer, pageSize: number, level: number): Promise<CompressedPages> {
    const r = await this.#call<{ blobs: Uint8Array; lengths: Uint32Array; codecs: Uint8Array }>(
      { op: 'compress', buf: pages, pageSize, level },
      [],
      true,
    );
    return { blobs: asBuffer(r.blobs), lengths: r.lengths, codecs: r.codecs };
  }

  /** Inflates stored blobs back into pages and hashes each, so the caller can check them. */
  async expandPages(blobs: Buffer, lengths: Uint32Array, codecs: Uint8Array, pageSize: number): Promise<ExpandedPages> {
    const r = await this.#call<{ pages: Uint8Array; hashes: Uint8Array; bad: number[] }>({
      op: 'expand',
      blobs,
      lengths,
      codecs,
      pageSize,
    });
    return { pages: asBuffer(r.pages), hashes: asBuffer(r.hashes), bad: r.bad };
  }

  /**
   * Feeds the next bytes of a whole-image hash. All updates of one stream go to the same worker and
   * are hashed in the order they were sent, so call it in image order; `streamDigest` ends the stream.
   */
  streamUpdate(stream: number, bytes: Buffer): void {
    this.#ensure();
    const slot = this.#slots[(this.#streamSlots.get(stream) ?? 0) % this.#slots.length] as Slot;
    slot.worker.postMessage({ op: 'streamUpdate', stream, buf: bytes });
  }

  async streamDigest(stream: number): Promise<string> {
    this.#ensure();
    const slot = this.#slots[(this.#streamSlots.get(stream) ?? 0) % this.#slots.length] as Slot;
    this.#streamSlots.delete(stream);
    const id = this.#nextId++;
    return new Promise<string>((resolve, reject) => {
      slot.pending.set(id, { resolve: (m) => resolve((m as { hash: string }).hash), reject });
      slot.worker.ref();
      slot.worker.postMessage({ op: 'streamDigest', stream, id });
    });
  }

  /** A new whole-image hash stream, on one worker (one of the background ones for snapshots). */
  newStream(background = false): number {
    const stream = this.#nextStream++;
    this.#streamSlots.set(stream, stream % (background ? this.backgroundSize : this.size));
    return stream;
  }

  async hashFile(path: string): Promise<string> {
    return (await this.#call<{ hash: string }>({ op: 'hashFile', path })).hash;
  }

  /**
   * One pass of SQLite's online backup of `source` into `dest`, on a background worker: see
   * captureImage. `sawPages` false means the first step found the source busy and wrote nothing.
   */
  async capture(source: string, dest: string, busyTimeoutMs: number, stepPages: number): Promise<{ sawPages: boolean }> {
    const r = await this.#call<{ sawPages: boolean }>({ op: 'capture', source, dest, busyTimeoutMs, stepPages }, [], true);
    return { sawPages: r.sawPages };
  }

  /** `PRAGMA integrity_check` on a file, opened read-only in a worker: `['ok']` when sound. */
  async integrityCheck(path: string): Promise<string[]> {
    return (await this.#call<{ result: string[] }>({ op: 'integrity', path })).result;
  }

  /**
   * Each thread holds its own heap and compression state (tens of MB after a large snapshot). Once
   * no call and no whole-image hash is outstanding for `idleMs`, the threads end and that memory
   * goes back; the next call starts them again.
   */
  #releaseWhenIdle(): void {
    const idle = () => this.#streamSlots.size === 0 && this.#slots.every((s) => s.pending.size === 0);
    if (this.#closed || !idle() || this.#idleTimer !== null) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (!idle()) return;
      const slots = this.#slots;
      this.#slots = [];
      for (const s of slots) void s.worker.terminate();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
