import { newId } from '../fleet';
import { open } from 'node:fs/promises';
import { existsSync, rmSync, statSync } from 'node:fs';
import { readHeaderFacts, type Manifest, type ManifestHeader } from './manifest';
import type { PageRepository, WriteResult } from './page-repository';
import type { ImageHashStream } from './page-workers';

export const CHUNK_PAGES = 1024;
/** Chunks hashed ahead of the one being stored, to keep every worker busy. */
const WINDOW = 4;

export interface SnapshotMeta {
  readonly sourceId: string;
  readonly sourceName: string;
  readonly capturedAt: number;
  readonly trigger: ManifestHeader['trigger'];
}

export interface StoredSnapshot {
  readonly manifest: Manifest;
  readonly written: WriteResult;
}

export type Progress = (done: number, total: number) => void;

/** Fleet-unique and time-ordered (UUIDv7): two nodes, or one node after a restore, never name two snapshots alike. */
export function newSnapshotId(): string {
  return `snap-${newId()}`;
}

export interface Pacing {
  /**
   * Idle time per unit of busy time between chunks: 1 waits as long as each chunk took, so the
   * snapshot takes about twice as long and leaves the source's own writers about half the CPU it
   * would take. 0 runs at full speed.
   */
  readonly idleRatio: number;
  /**
   * Every snapshot, paced or not, yields to the event loop after each chunk and measures how late
   * the loop answers; when it is later than this (other work is waiting: API requests, the Redis
   * client's replies), it backs off as long again before the next chunk. Default 20 ms.
   */
  readonly lagBudgetMs?: number;
  /** How the loop's lateness is measured (a 0 ms timer by default; injectable for tests). */
  readonly lag?: () => Promise<number>;
  /** How the loop waits (a timer; injectable so tests run on a fake clock). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Monotonic milliseconds (performance.now by default). */
  readonly now?: () => number;
}

const timerSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How much later than asked a 0 ms timer fires: the time other callbacks held the loop. */
async function timerLag(): Promise<number> {
  const asked = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Node clamps a 0 ms timer to 1 ms.
  return Math.max(0, performance.now() - asked - 1);
}

const LAG_BUDGET_MS = 20;

/** Removes the image and any WAL/SHM files SQLite left beside it. */
export function removeImage(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(p, { force: true });
}

/**
 * Stores a captured image file in the repository: reads it a chunk at a time, hashes pages on the
 * workers (several chunks in flight), adds the pages not yet stored, commits, and writes the manifest
 * last. Returns once the snapshot is durable.
 */
export async function storeImage(
  repo: PageRepository,
  imagePath: string,
  meta: SnapshotMeta,
  onProgress: Progress = () => undefined,
  pacing: Pacing = { idleRatio: 0 },
  signal?: AbortSignal,
): Promise<StoredSnapshot> {
  const sleep = pacing.sleep ?? timerSleep;
  const now = pacing.now ?? (() => performance.now());
  const lag = pacing.lag ?? timerLag;
  const lagBudgetMs = pacing.lagBudgetMs ?? LAG_BUDGET_MS;
  const wal = `${imagePath}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) throw new Error('the captured image has a non-empty WAL beside it');
  const size = statSync(imagePath).size;
  const fh = await open(imagePath, 'r');
  const writer = repo.beginWrite();
  let opened: ImageHashStream | null = null;
  try {
    const head = Buffer.alloc(100);
    await fh.read(head, 0, 100, 0);
    const header = readHeaderFacts(head);
    const pageSize = header.pageSize;
    if (size % pageSize !== 0) throw new Error(`the image is ${size} bytes, not a whole number of ${pageSize}-byte pages`);
    const pageCount = size / pageSize;
    const stream = repo.workers.openStream(true);
    opened = stream;
    const hashes = Buffer.allocUnsafe(pageCount * 32);
    const chunks = Math.ceil(pageCount / CHUNK_PAGES);
    // Chunk buffers are reused once their pages are stored (the workers and the writer work on
    // copies), so a snapshot holds at most the window's chunks, whatever the size of the image.
    const spare: Buffer[] = [];
    // Reads run one after another so the image hash sees the chunks in order; the page hashing of
    // up to WINDOW chunks overlaps on the workers.
    const readChunk = async (c: number) => {
      const first = c * CHUNK_PAGES;
      const n = Math.min(CHUNK_PAGES, pageCount - first);
      const whole = spare.pop() ?? Buffer.allocUnsafe(CHUNK_PAGES * pageSize);
      const buf = whole.subarray(0, n * pageSize);
      const { bytesRead } = await fh.read(buf, 0, buf.length, first * pageSize);
      if (bytesRead !== buf.length) throw new Error('the image changed size while it was read');
      stream.update(buf);
      const hashed = repo.workers.hashPages(buf, pageSize, repo.pageKeys);
      hashed.catch(() => undefined);
      return { first, whole, pages: buf, hashes: hashed };
    };
    const inflight: { first: number; whole: Buffer; pages: Buffer; hashes: Promise<Buffer> }[] = [];
    let next = 0;
    // Paced, the window shrinks to one chunk ahead: with four in flight the workers would keep
    // hashing through the pauses and the pacing would only move the load, not lower it.
    const window = pacing.idleRatio > 0 ? 1 : WINDOW;
    for (let c = 0; c < chunks; c += 1) {
      signal?.throwIfAborted();
      const busyFrom = now();
      while (next < chunks && inflight.length < window) inflight.push(await readChunk(next++));
      const chunk = inflight.shift() as { first: number; whole: Buffer; pages: Buffer; hashes: Promise<Buffer> };
      const chunkHashes = await chunk.hashes;
      chunkHashes.copy(hashes, chunk.first * 32);
      await writer.add(chunk.pages, chunkHashes, pageSize);
      spare.push(chunk.whole);
      onProgress(Math.min(pageCount, chunk.first + CHUNK_PAGES), pageCount);
      if (c === chunks - 1) continue;
      if (pacing.idleRatio > 0) await sleep((now() - busyFrom) * pacing.idleRatio);
      const late = await lag();
      if (late > lagBudgetMs) await sleep(late);
    }
    const imageHash = stream.digest();
    const written = await writer.commit();
    const manifest: Manifest = {
      id: newSnapshotId(),
      ...meta,
      pageSize,
      pageCount,
      imageHash: await imageHash,
      header,
      pages: hashes,
    };
    // The commit point. Checked in the same tick as the synchronous manifest write, so a cancel
    // either lands before it (no snapshot) or after the snapshot exists (the job has completed).
    signal?.throwIfAborted();
    repo.writeManifest(manifest);
    return { manifest, written };
  } catch (err) {
    void opened?.digest(); // ends the worker's stream task; its outcome no longer matters
    await writer.abort();
    throw err;
  } finally {
    await fh.close();
  }
}
