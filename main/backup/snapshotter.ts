import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { existsSync, rmSync, statSync } from 'node:fs';
import { readHeaderFacts, type Manifest, type ManifestHeader } from './manifest';
import type { PageRepository, WriteResult } from './page-repository';

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

export function newSnapshotId(at: number): string {
  return `snap-${at.toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

/** Removes the image and any WAL/SHM files SQLite left beside it. */
export function removeImage(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(p, { force: true });
}

/**
 * Stores a captured image file in the repository: reads it a chunk at a time, hashes pages on the
 * workers (several chunks in flight), adds the pages not yet stored, commits, and writes the manifest
 * last. Returns once the snapshot is durable.
 */
export async function storeImage(repo: PageRepository, imagePath: string, meta: SnapshotMeta, onProgress: Progress = () => undefined): Promise<StoredSnapshot> {
  const wal = `${imagePath}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) throw new Error('the captured image has a non-empty WAL beside it');
  const size = statSync(imagePath).size;
  const fh = await open(imagePath, 'r');
  const writer = repo.beginWrite();
  try {
    const head = Buffer.alloc(100);
    await fh.read(head, 0, 100, 0);
    const header = readHeaderFacts(head);
    const pageSize = header.pageSize;
    if (size % pageSize !== 0) throw new Error(`the image is ${size} bytes, not a whole number of ${pageSize}-byte pages`);
    const pageCount = size / pageSize;
    const imageHash = repo.workers.hashFile(imagePath);
    imageHash.catch(() => undefined);
    const hashes = Buffer.allocUnsafe(pageCount * 32);
    const chunks = Math.ceil(pageCount / CHUNK_PAGES);
    const readChunk = async (c: number) => {
      const first = c * CHUNK_PAGES;
      const n = Math.min(CHUNK_PAGES, pageCount - first);
      const buf = Buffer.allocUnsafe(n * pageSize);
      const { bytesRead } = await fh.read(buf, 0, buf.length, first * pageSize);
      if (bytesRead !== buf.length) throw new Error('the image changed size while it was read');
      return { first, pages: buf, hashes: await repo.workers.hashPages(buf, pageSize) };
    };
    const inflight: Promise<{ first: number; pages: Buffer; hashes: Buffer }>[] = [];
    let next = 0;
    for (let c = 0; c < chunks; c += 1) {
      while (next < chunks && inflight.length < WINDOW) {
        const p = readChunk(next++);
        p.catch(() => undefined);
        inflight.push(p);
      }
      const chunk = await (inflight.shift() as Promise<{ first: number; pages: Buffer; hashes: Buffer }>);
      chunk.hashes.copy(hashes, chunk.first * 32);
      await writer.add(chunk.pages, chunk.hashes, pageSize);
      onProgress(Math.min(pageCount, chunk.first + CHUNK_PAGES), pageCount);
    }
    const written = await writer.commit();
    const manifest: Manifest = {
      id: newSnapshotId(meta.capturedAt),
      ...meta,
      pageSize,
      pageCount,
      imageHash: await imageHash,
      header,
      pages: hashes,
    };
    repo.writeManifest(manifest);
    return { manifest, written };
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await fh.close();
  }
}
