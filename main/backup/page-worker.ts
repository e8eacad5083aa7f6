/**
 * The page worker: what each thread of the backup's piscina pool runs (see PageWorkers). Each export
 * is one task, named at `pool.run(task, { name })`. It imports only Node built-ins, better-sqlite3,
 * sodium-native and piscina, so electron-vite bundles it as its own entry (out/main/page-worker.js)
 * and tsx loads it from source under the tests and the benchmarks.
 */
import { createHash, createHmac } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { brotliCompressSync, brotliDecompressSync, constants, inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { NONCE_BYTES, open as openGcm, openPage, pageSealKey, randomNonces, SEALED, sealPage, XCHACHA } from './repo-crypto';

/** How a page blob is stored (its byte in the pack index). Deflate is what older repositories hold. */
const CODEC_RAW = 0;
const CODEC_DEFLATE = 1;
const CODEC_BROTLI = 2;

export interface HashPagesTask {
  readonly buf: Uint8Array;
  readonly pageSize: number;
  /** An encrypted repository's address key: pages are addressed by HMAC-SHA256 under it, not SHA-256. */
  readonly mac?: Uint8Array | null;
}
export interface CompressPagesTask extends HashPagesTask {
  readonly level: number;
  /** An encrypted repository's pages key: each blob is sealed (XChaCha20-Poly1305, under a key derived from it) to its page address in `hashes`. */
  readonly sealKey?: Uint8Array | null;
  readonly hashes?: Uint8Array | null;
}
export interface ExpandPagesTask {
  readonly blobs: Uint8Array;
  readonly lengths: Uint32Array;
  readonly codecs: Uint8Array;
  readonly pageSize: number;
  /** With `sealKey`: the addresses the blobs were sealed to (the ones asked for), 32 bytes each. */
  readonly want?: Uint8Array | null;
  readonly sealKey?: Uint8Array | null;
  readonly mac?: Uint8Array | null;
  /** Where the pages go: written here into the file at `path` (which exists), not sent back. */
  readonly out?: { readonly path: string; readonly offset: number } | null;
}
export interface PathTask {
  readonly path: string;
}
export interface CaptureTask {
  readonly source: string;
  readonly dest: string;
  readonly busyTimeoutMs: number;
  readonly stepPages: number;
}
/** A failure comes back as a value: an error crossing the thread boundary loses its `code`, which the caller maps. */
export type CaptureResult =
  { readonly ok: true; readonly sawPages: boolean } | { readonly ok: false; readonly message: string; readonly code: string | null };
/** A whole-image hash fed through `port`: byte chunks in image order, then `null` to end it. */
export interface HashStreamTask {
  readonly port: MessagePort;
}

export interface CompressPagesResult {
  readonly blobs: Uint8Array;
  readonly lengths: Uint32Array;
  readonly codecs: Uint8Array;
}
export interface ExpandPagesResult {
  readonly pages: Uint8Array;
  readonly hashes: Uint8Array;
  readonly bad: number[];
  /** Writing into `out` failed. */
  readonly writeError?: { readonly message: string; readonly code: string | null };
}

const toBuf = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/**
 * Hands whole ArrayBuffers back instead of copying them; a view into a shared (pooled) buffer is
 * copied, since moving it would take the pool's other slices with it.
 */
function moving<T extends object>(value: T, ...views: Uint8Array[]): T {
  const whole = views.filter((v) => v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.byteLength > 0);
  // piscina's Transferable shape: what to transfer, and the value to send in its place.
  return move({ [transferableSymbol]: whole.map((v) => v.buffer), [valueSymbol]: value }) as unknown as T;
}

/** A page's address: SHA-256 in a plain repository, HMAC-SHA256 under the address key in an encrypted one. */
function addressOf(page: Buffer, mac: Uint8Array | null | undefined): Buffer {
  return (mac ? createHmac('sha256', mac) : createHash('sha256')).update(page).digest();
}

/** The address of each `pageSize` slice, 32 bytes a page. */
export function hashPages(task: HashPagesTask): Uint8Array {
  const buf = toBuf(task.buf);
  const n = Math.floor(buf.length / task.pageSize);
  const out = Buffer.allocUnsafe(n * 32);
  for (let i = 0; i < n; i += 1) addressOf(buf.subarray(i * task.pageSize, (i + 1) * task.pageSize), task.mac).copy(out, i * 32);
  return moving(out, out);
}

/** Each page alone, brotli at quality `level`; a page that does not shrink is kept raw; then sealed when the repository is encrypted. */
export function compressPages(task: CompressPagesTask): CompressPagesResult {
  const buf = toBuf(task.buf);
  const sealKey = task.sealKey ? pageSealKey(toBuf(task.sealKey)) : null;
  const hashes = task.hashes ? toBuf(task.hashes) : null;
  const n = Math.floor(buf.length / task.pageSize);
  const nonces = sealKey !== null ? randomNonces(n) : null;
  const parts: Buffer[] = [];
  const lengths = new Uint32Array(n);
  const codecs = new Uint8Array(n);
  let total = 0;
  for (let i = 0; i < n; i += 1) {
    const page = buf.subarray(i * task.pageSize, (i + 1) * task.pageSize);
    // Brotli at a low quality with a 4 KiB window: about 1.5x the speed of deflate level 1 on a single
    // page, and a smaller blob (each page is compressed alone, so the per-call setup matters).
    let blob: Buffer = brotliCompressSync(page, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: task.level,
        [constants.BROTLI_PARAM_LGWIN]: 12,
        [constants.BROTLI_PARAM_SIZE_HINT]: page.length,
      },
    });
    let codec = CODEC_BROTLI;
    if (blob.length >= page.length) {
      blob = page;
      codec = CODEC_RAW;
    }
    if (sealKey !== null && hashes !== null && nonces !== null) {
      blob = sealPage(sealKey, blob, hashes.subarray(i * 32, i * 32 + 32), nonces.subarray(i * NONCE_BYTES, (i + 1) * NONCE_BYTES));
      codec |= SEALED | XCHACHA;
    }
    parts.push(blob);
    lengths[i] = blob.length;
    codecs[i] = codec;
    total += blob.length;
  }
  const blobs = Buffer.concat(parts, total);
  return moving({ blobs, lengths, codecs }, blobs);
}

/** The repository's pages key opens AES-256-GCM blobs; the key derived from it, XChaCha20-Poly1305 ones. */
interface OpeningKeys {
  readonly gcm: Buffer;
  readonly xchacha: Buffer;
}

/** A sealed blob opened with the cipher its codec names; null when it does not open. */
function opened(stored: Buffer, storedCodec: number, keys: OpeningKeys | null, address: Buffer | null): Buffer | null {
  if (keys === null || address === null) return null;
  return (storedCodec & XCHACHA) !== 0 ? openPage(keys.xchacha, stored, address) : openGcm(keys.gcm, stored, address);
}

function expandOne(stored: Buffer, storedCodec: number, keys: OpeningKeys | null, address: Buffer | null): Buffer | null {
  let blob: Buffer | null = stored;
  const codec = storedCodec & ~(SEALED | XCHACHA);
  if ((storedCodec & SEALED) !== 0) blob = opened(stored, storedCodec, keys, address);
  if (blob === null) return null;
  try {
    if (codec === CODEC_RAW) return blob;
    if (codec === CODEC_BROTLI) return brotliDecompressSync(blob);
    return codec === CODEC_DEFLATE ? inflateRawSync(blob) : null;
  } catch {
    return null;
  }
}

/** Stored blobs back into pages (opened first when sealed), each addressed so the caller can check it; `bad` lists the ones that did not expand. */
export function expandPages(task: ExpandPagesTask): ExpandPagesResult {
  const { lengths, codecs, pageSize } = task;
  const blobs = toBuf(task.blobs);
  const sealKey = task.sealKey ? toBuf(task.sealKey) : null;
  const keys = sealKey === null ? null : { gcm: sealKey, xchacha: pageSealKey(sealKey) };
  const want = task.want ? toBuf(task.want) : null;
  const n = lengths.length;
  const pages = Buffer.allocUnsafe(n * pageSize);
  const hashes = Buffer.allocUnsafe(n * 32);
  const bad: number[] = [];
  let off = 0;
  for (let i = 0; i < n; i += 1) {
    const length = lengths[i] as number;
    const page = expandOne(blobs.subarray(off, off + length), codecs[i] as number, keys, want?.subarray(i * 32, i * 32 + 32) ?? null);
    off += length;
    if (page === null || page.length !== pageSize) {
      bad.push(i);
      pages.fill(0, i * pageSize, (i + 1) * pageSize);
      hashes.fill(0, i * 32, (i + 1) * 32);
      continue;
    }
    page.copy(pages, i * pageSize);
    addressOf(page, task.mac).copy(hashes, i * 32);
  }
  if (task.out) {
    try {
      const fd = openSync(task.out.path, 'r+');
      try {
        for (let at = 0; at < pages.length;) at += writeSync(fd, pages, at, pages.length - at, task.out.offset + at);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      // As a value: the code (ENOSPC, EACCES) tells a full disk from damage, and a thrown error loses it.
      const writeError = { message: (err as Error).message, code: (err as { code?: string }).code ?? null };
      return { pages: new Uint8Array(0), hashes, bad, writeError };
    }
    return moving({ pages: new Uint8Array(0), hashes, bad }, hashes);
  }
  return moving({ pages, hashes, bad }, pages, hashes);
}

/** SHA-256 of a whole file, hex, read a MiB at a time. */
export function hashFile(task: PathTask): string {
  const hash = createHash('sha256');
  const fd = openSync(task.path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** `PRAGMA integrity_check` on a file opened read-only: `['ok']` when sound. */
export function integrityCheck(task: PathTask): string[] {
  try {
    const db = new Database(task.path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('PRAGMA integrity_check').all() as { integrity_check: unknown }[]).map((r) => String(r.integrity_check));
    } finally {
      db.close();
    }
  } catch (err) {
    // better-sqlite3's SqliteError would cross the thread boundary as a bare `{ code }`; its message is what the caller reports.
    throw new Error(err instanceof Error ? err.message : String(err));
  }
}

/**
 * One pass of SQLite's online backup of `source` into `dest` (see captureImage), here so no step of
 * it holds the main thread: a source written during the copy makes the rest one step, the whole file.
 */
export async function capture(task: CaptureTask): Promise<CaptureResult> {
  try {
    const db = new Database(task.source, { fileMustExist: true, timeout: task.busyTimeoutMs });
    try {
      let lastRemaining = Infinity;
      let lastMoved = Date.now();
      let oneStep = false;
      let sawPages = false;
      await db.backup(task.dest, {
        progress: ({ totalPages, remainingPages }) => {
          const now = Date.now();
          sawPages = sawPages || totalPages > 0;
          if (remainingPages < lastRemaining) lastMoved = now;
          else if (now - lastMoved > task.busyTimeoutMs)
            throw Object.assign(new Error('the source stayed locked'), { code: 'SQLITE_BUSY' });
          if (remainingPages > lastRemaining && lastRemaining !== Infinity) oneStep = true;
          lastRemaining = remainingPages;
          return oneStep ? 0x7fffffff : task.stepPages;
        },
      });
      return { ok: true, sawPages };
    } finally {
      db.close();
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { ok: false, message: err instanceof Error ? err.message : String(err), code: typeof code === 'string' ? code : null };
  }
}

/**
 * A running SHA-256 over chunks that arrive on `port` in order; `null` ends it and the task resolves
 * with the hex digest. The task stays open between chunks, so the pool lets other tasks share its
 * thread (see the balancer in PageWorkers).
 */
export function hashStream(task: HashStreamTask): Promise<string> {
  const hash = createHash('sha256');
  return new Promise((resolve) => {
    task.port.on('message', (chunk: Uint8Array | null) => {
      if (chunk !== null) {
        hash.update(chunk);
        return;
      }
      task.port.close();
      resolve(hash.digest('hex'));
    });
  });
}
