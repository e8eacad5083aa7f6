import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type TransferListItem } from 'node:worker_threads';
import { Piscina, queueOptionsSymbol } from 'piscina';
import type { CaptureResult, CompressPagesResult, ExpandPagesResult } from './page-worker';

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

/** A whole-image SHA-256 computed on a worker while the caller reads or writes the image. */
export interface ImageHashStream {
  /** Feeds the next bytes; call it in image order. */
  update(bytes: Buffer): void;
  /** Ends the stream: the hex digest of everything fed. Also what ends a stream given up part way. */
  digest(): Promise<string>;
}

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
interface Lane {
  readonly background: boolean;
}

const asBuffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
/** A copy with its own ArrayBuffer: a view posted to a thread is cloned with its whole backing buffer. */
const own = (b: Buffer): Buffer => {
  const out = Buffer.alloc(b.length);
  b.copy(out);
  return out;
};

/** An encrypted repository's page keys, as the workers need them (see repo-crypto.ts). */
export interface PageKeys {
  readonly pages: Buffer;
  readonly mac: Buffer;
}

/**
 * How far below the main thread the page workers run (a nice increment, per thread on Linux, through
 * piscina's optional @napi-rs/nice; without it the threads run at the process's priority). At 10 a
 * worker gets about a tenth of a core the main thread also wants, and all of an idle one, so an
 * operator's restore on a quiet machine is as fast as before.
 */
const WORKER_NICE = 10;

const here = typeof __dirname === 'string' ? __dirname : import.meta.dirname;

/**
 * Where the worker file is: built, `page-worker.js` beside this module (a one-file bundle such as the
 * crash child) or one folder up (electron-vite puts the shared code in out/main/chunks/ and the
 * entries in out/main/); from source, `page-worker.ts` beside it, loaded through tsx's require hook
 * (the thread's only flag: the parent's may include V8 flags such as --expose-gc that a thread refuses).
 */
function workerFile(): { filename: string; execArgv?: string[] } {
  for (const dir of [here, join(here, '..')]) {
    const built = join(dir, 'page-worker.js');
    if (existsSync(built)) return { filename: built };
  }
  const req = createRequire(join(here, 'page-workers.ts'));
  return { filename: join(here, 'page-worker.ts'), execArgv: ['--require', req.resolve('tsx/cjs')] };
}

/**
 * Background tasks go to the `size` workers with the lowest thread ids, the rest to any; each to the
 * one with the fewest tasks. Never "none": an open image-hash stream holds its task between chunks,
 * so a cap on tasks per worker could leave every slot to idle streams and starve the work they wait on.
 */
function laneBalancer(backgroundSize: number): Balancer {
  return (task, workers) => {
    const live = workers.filter((w) => !w.terminating && !w.destroyed);
    const lane =
      (task[queueOptionsSymbol] as Lane | null)?.background === true
        ? [...live].sort((a, b) => a.id - b.id).slice(0, backgroundSize)
        : live;
    let best = lane[0] ?? null;
    for (const w of lane) if (best === null || w.currentUsage < best.currentUsage) best = w;
    return best;
  };
}

/**
 * A piscina pool of worker threads (main/backup/page-worker.ts) doing the heavy, CPU-bound page work
 * (SHA-256, compression, whole-file hashes, integrity checks) so the main thread, which serves the
 * console and the API, only moves buffers around. The pool starts on first use, and its idle threads
 * never keep the process alive.
 */
export class PageWorkers {
  readonly size: number;
  /**
   * Snapshots are background work: their hashing and compression use only `backgroundSize` workers
   * (one fewer than the pool, at least 1), leaving a core to the databases' own writers. Restore and
   * verify, which an operator is waiting on, use them all.
   */
  readonly backgroundSize: number;
  #pool: Piscina | null = null;
  #closed = false;
  /** Tasks given to the pool and not yet settled (an open image-hash stream is one). */
  #outstanding = 0;
  /** Ends the threads once the pool has been idle `idleMs`, so their heaps go back after a snapshot. */
  #idleTimer: NodeJS.Timeout | null = null;
  readonly #idleMs: number;

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
    return this.#pool?.threads.length ?? 0;
  }

  #run<T>(name: string, task: object, background = false, transferList: TransferListItem[] = []): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The page workers are closed'));
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#pool === null) {
      this.#pool = new Piscina({
        ...workerFile(),
        // piscina loads the pool's default task when a thread starts; it must be one the file exports.
        name: 'hashFile',
        minThreads: this.size,
        maxThreads: this.size,
        // Tasks come as messages, not through Atomics.wait, which would stall a thread's open streams.
        atomics: 'disabled',
        loadBalancer: laneBalancer(this.backgroundSize),
        // Below the main thread: a snapshot's hashing and compression take the CPU the API and the
        // Redis client's replies leave over, not a share of theirs (see WORKER_NICE).
        niceIncrement: WORKER_NICE,
      });
    }
    const lane: Lane = { background };
    this.#outstanding += 1;
    const result = this.#pool.run({ ...task, [queueOptionsSymbol]: lane }, { name, transferList }) as Promise<T>;
    const settled = () => {
      this.#outstanding -= 1;
      this.#releaseWhenIdle();
    };
    result.then(settled, settled);
    return result;
  }

  /**
   * Each thread holds its own heap and compression state (tens of MB after a large snapshot). Once
   * no task and no whole-image hash is outstanding for `idleMs`, the pool ends its threads and that
   * memory goes back; the next call starts them again.
   */
  #releaseWhenIdle(): void {
    if (this.#closed || this.#outstanding > 0 || this.#idleTimer !== null || this.#pool === null) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#outstanding > 0 || this.#pool === null) return;
      const pool = this.#pool;
      this.#pool = null;
      void pool.destroy();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  /**
   * The address of each `pageSize` slice of `pages` (SHA-256, or HMAC-SHA256 under `keys.mac` in an
   * encrypted repository); 32 bytes a page, in order. Background (snapshot) work.
   */
  async hashPages(pages: Buffer, pageSize: number, keys: PageKeys | null = null): Promise<Buffer> {
    return asBuffer(await this.#run<Uint8Array>('hashPages', { buf: pages, pageSize, mac: keys?.mac ?? null }, true));
  }

  /**
   * Compresses each page alone (brotli at quality `level`); a page that does not shrink is kept raw.
   * With `keys`, each blob is then sealed to its address in `hashes`.
   */
  async compressPages(
    pages: Buffer,
    pageSize: number,
    level: number,
    keys: PageKeys | null = null,
    hashes: Buffer | null = null,
  ): Promise<CompressedPages> {
    const sealing = keys !== null && hashes !== null;
    const task = { buf: pages, pageSize, level, sealKey: sealing ? keys.pages : null, hashes: sealing ? own(hashes) : null };
    const r = await this.#run<CompressPagesResult>('compressPages', task, true);
    return { blobs: asBuffer(r.blobs), lengths: r.lengths, codecs: r.codecs };
  }

  /**
   * Opens (with `keys`, each blob against its address in `want`) and inflates stored blobs back into
   * pages and addresses each, so the caller can check them.
   */
  async expandPages(
    blobs: Buffer,
    lengths: Uint32Array,
    codecs: Uint8Array,
    pageSize: number,
    keys: PageKeys | null = null,
    want: Buffer | null = null,
  ): Promise<ExpandedPages> {
    const task = {
      blobs,
      lengths,
      codecs,
      pageSize,
      sealKey: keys?.pages ?? null,
      mac: keys?.mac ?? null,
      want: keys !== null && want !== null ? own(want) : null,
    };
    const r = await this.#run<ExpandPagesResult>('expandPages', task);
    return { pages: asBuffer(r.pages), hashes: asBuffer(r.hashes), bad: r.bad };
  }

  /**
   * A whole-image hash on one worker, fed through a message port so its chunks stay in order while
   * other tasks share the thread. A snapshot's (`background`) runs in the background lane.
   */
  openStream(background = false): ImageHashStream {
    const { port1, port2 } = new MessageChannel();
    const digest = this.#run<string>('hashStream', { port: port2 }, background, [port2]);
    digest.catch(() => undefined); // a stream given up part way is ended by digest(), which reports
    let ended = false;
    return {
      update: (bytes) => port1.postMessage(bytes),
      digest: () => {
        if (!ended) port1.postMessage(null);
        ended = true;
        return digest;
      },
    };
  }

  async hashFile(path: string): Promise<string> {
    return this.#run<string>('hashFile', { path });
  }

  /**
   * One pass of SQLite's online backup of `source` into `dest`, on a background worker: see
   * captureImage. `sawPages` false means the first step found the source busy and wrote nothing.
   */
  async capture(source: string, dest: string, busyTimeoutMs: number, stepPages: number): Promise<{ sawPages: boolean }> {
    const r = await this.#run<CaptureResult>('capture', { source, dest, busyTimeoutMs, stepPages }, true);
    // The code (SQLITE_BUSY, SQLITE_NOTADB...) lets the caller map the failure to the catalogue.
    if (!r.ok) throw Object.assign(new Error(r.message), r.code === null ? {} : { code: r.code });
    return { sawPages: r.sawPages };
  }

  /** `PRAGMA integrity_check` on a file, opened read-only in a worker: `['ok']` when sound. */
  async integrityCheck(path: string): Promise<string[]> {
    return this.#run<string[]>('integrityCheck', { path });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    const pool = this.#pool;
    this.#pool = null;
    await pool?.destroy();
  }
}
