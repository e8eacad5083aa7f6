import { open, type FileHandle } from 'node:fs/promises';
import type { Manifest } from './manifest';
import type { PageRepository } from './page-repository';
import { CHUNK_PAGES, type Progress } from './snapshotter';
import { readBlobs } from './page-reads';

export interface ReassemblyResult {
  /** Page numbers (1-based) whose stored blob is missing, unreadable, or hashes to something else. */
  readonly badPages: number[];
  readonly pagesChecked: number;
  /** SHA-256 (hex) of the rebuilt image, read back from the file once it is written and synced. */
  readonly imageHash: string;
}

const WINDOW = 3;

/**
 * Rebuilds a snapshot's image page by page into `outPath`, checking every page's SHA-256 against the
 * manifest on the workers. Bad pages are reported, never silently written as good; the caller decides
 * (verify records them, restore refuses). The workers write the pages into the file themselves, so
 * the main thread holds only the stored blobs and the addresses; the file is fsynced before the
 * image is hashed and this returns.
 */
export async function reassemble(
  repo: PageRepository,
  manifest: Manifest,
  outPath: string,
  onProgress: Progress = () => undefined,
): Promise<ReassemblyResult> {
  const { pageSize, pageCount } = manifest;
  const handles = repo.packHandles();
  let out: FileHandle | null = null;
  const badPages: number[] = [];
  try {
    // 0600 from the first byte: a restored or exported database is readable by its owner only.
    out = await open(outPath, 'w', 0o600);
    await out.truncate(pageCount * pageSize);
    const chunks = Math.ceil(pageCount / CHUNK_PAGES);
    const work = async (c: number) => {
      const first = c * CHUNK_PAGES;
      const n = Math.min(CHUNK_PAGES, pageCount - first);
      const want = manifest.pages.subarray(first * 32, (first + n) * 32);
      const { blobs, lengths, codecs, missing } = await readBlobs(repo, want, handles);
      const into = { path: outPath, offset: first * pageSize };
      const expanded = await repo.workers.expandPages(blobs, lengths, codecs, pageSize, repo.pageKeys, want, into);
      const bad = new Set<number>([...missing, ...expanded.bad]);
      for (let i = 0; i < n; i += 1) {
        if (!expanded.hashes.subarray(i * 32, i * 32 + 32).equals(want.subarray(i * 32, i * 32 + 32))) bad.add(i);
      }
      return { first, n, bad: [...bad].map((i) => first + i + 1) };
    };
    const inflight: ReturnType<typeof work>[] = [];
    let next = 0;
    for (let c = 0; c < chunks; c += 1) {
      while (next < chunks && inflight.length < WINDOW) {
        const p = work(next++);
        p.catch(() => undefined);
        inflight.push(p);
      }
      const done = await (inflight.shift() as ReturnType<typeof work>);
      badPages.push(...done.bad);
      onProgress(done.first + done.n, pageCount);
    }
    // The workers wrote through their own descriptors; fsync flushes the file whichever wrote it.
    await out.sync();
  } finally {
    await out?.close();
    await handles.close();
  }
  return { badPages: badPages.sort((a, b) => a - b), pagesChecked: pageCount, imageHash: await repo.workers.hashFile(outPath) };
}
