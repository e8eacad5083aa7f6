import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_PAGES, PageRepository, PageWorkers, reassemble, storeImage } from '../../main/backup';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { makeDatabase, sha256File } from './backup-fixture';
import { readBlobs } from '../../main/backup/page-reads';

/** A fake monotonic clock that moves 5 ms every time it is read, so every chunk "takes" 5 ms. */
function steppingClock(): () => number {
  let t = 0;
  return () => (t += 5);
}

describe('snapshot pacing', () => {
  const dir = tempDir('ph-backup-pacing-');
  const workers = new PageWorkers(1);
  const repo = new PageRepository(join(dir.path, 'repo'), workers);
  const image = join(dir.path, 'image.db');
  const meta = { sourceId: 'src', sourceName: 'src', capturedAt: Date.parse('2026-01-05T10:00:00Z'), trigger: 'schedule' as const };
  let pages = 0;

  beforeAll(() => {
    // About 20 rows a page: 60,000 rows make an image of a few chunks.
    const db = makeDatabase(image, 60_000);
    db.pragma('wal_checkpoint(TRUNCATE)');
    pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    repo.open();
  });
  afterAll(async () => {
    repo.close();
    await workers.close();
    dir.remove();
  });

  it('waits idleRatio times what each chunk took between chunks, and stores the same image as an unpaced run', async () => {
    const chunks = Math.ceil(pages / CHUNK_PAGES);
    expect(chunks).toBeGreaterThanOrEqual(3);
    const sleeps: number[] = [];
    const paced = await storeImage(repo, image, meta, undefined, {
      idleRatio: 2,
      now: steppingClock(),
      lag: async () => 0,
      sleep: async (ms) => void sleeps.push(ms),
    });
    // One pause between consecutive chunks (none after the last), each 2 × the 5 ms the chunk took.
    expect(sleeps).toEqual(Array.from({ length: chunks - 1 }, () => 10));
    expect(paced.manifest.imageHash).toBe(sha256File(image));

    const unpacedSleeps: number[] = [];
    const unpaced = await storeImage(repo, image, { ...meta, capturedAt: meta.capturedAt + 1 }, undefined, {
      idleRatio: 0,
      now: steppingClock(),
      lag: async () => 0,
      sleep: async (ms) => void unpacedSleeps.push(ms),
    });
    expect(unpacedSleeps).toEqual([]);
    expect(unpaced.manifest.imageHash).toBe(paced.manifest.imageHash);
    expect(unpaced.written.addedPages).toBe(0);
  });

  it('backs off as long as the event loop was late after a chunk, unpaced snapshots too, so other work keeps its latency', async () => {
    const chunks = Math.ceil(pages / CHUNK_PAGES);
    // The loop answers 50 ms late after every other chunk (a burst of requests), on time otherwise.
    const lateness = Array.from({ length: chunks }, (_, i) => (i % 2 === 0 ? 50 : 3));
    const sleeps: number[] = [];
    const stored = await storeImage(repo, image, { ...meta, trigger: 'manual', capturedAt: meta.capturedAt + 2 }, undefined, {
      idleRatio: 0,
      now: steppingClock(),
      lag: async () => lateness.shift() ?? 0,
      sleep: async (ms) => void sleeps.push(ms),
    });
    // Checked after every chunk but the last; only the late answers (over the 20 ms budget) cost a pause.
    const checked = chunks - 1;
    expect(sleeps).toEqual(Array.from({ length: Math.ceil(checked / 2) }, () => 50));
    expect(stored.manifest.imageHash).toBe(sha256File(image));
  });

  it('runs its page loops on the main thread a budget at a time, yielding to the event loop between, and stores and rebuilds the same image', async () => {
    // A budget of 0 ms yields after every page: each yield lets one turn of the loop's other work run.
    const yielding = new PageRepository(join(dir.path, 'repo-yielding'), workers, { turnBudgetMs: 0 });
    yielding.open();
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns += 1;
      if (counting) setImmediate(count);
    };
    try {
      setImmediate(count);
      const stored = await storeImage(yielding, image, meta, undefined, { idleRatio: 0, lag: async () => 0 });
      // The writer looked up every page, and copied every (fresh) page, a turn each.
      expect(stored.written.addedPages).toBeGreaterThan(0);
      expect(turns).toBeGreaterThanOrEqual(pages);
      expect(stored.manifest.imageHash).toBe(sha256File(image));
      turns = 0;
      const rebuilt = await reassemble(yielding, yielding.readManifest(stored.manifest.id), join(dir.path, 'rebuilt.db'));
      // The reader's index lookups, one a page, also gave a turn each.
      expect(turns).toBeGreaterThanOrEqual(pages);
      expect(rebuilt.badPages).toEqual([]);
      expect(rebuilt.imageHash).toBe(stored.manifest.imageHash);
    } finally {
      counting = false;
      yielding.close();
    }
  });

  it('has the workers write rebuilt pages into the image themselves, and a write that fails comes back with its code (a full disk is not damage)', async () => {
    const stored = await storeImage(repo, image, { ...meta, capturedAt: meta.capturedAt + 3 }, undefined, {
      idleRatio: 0,
      lag: async () => 0,
    });
    const first = stored.manifest.pages.subarray(0, 32);
    const handles = repo.packHandles();
    const { blobs, lengths, codecs } = await readBlobs(repo, first, handles);
    await handles.close();
    const into = { path: join(dir.path, 'no-such-dir', 'image.db'), offset: 0 };
    await expect(workers.expandPages(blobs, lengths, codecs, stored.manifest.pageSize, null, first, into)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const rebuilt = await reassemble(repo, stored.manifest, join(dir.path, 'rebuilt-by-workers.db'));
    expect(rebuilt.badPages).toEqual([]);
    expect(sha256File(join(dir.path, 'rebuilt-by-workers.db'))).toBe(sha256File(image));
    expect(rebuilt.imageHash).toBe(stored.manifest.imageHash);
  });

  it('runs its worker threads below the main thread (nice 10 on Linux), so their hashing takes the CPU the API leaves over', async () => {
    const niceOf = (task: string): number => Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
    const before = new Set(readdirSync('/proc/self/task'));
    const pool = new PageWorkers(1);
    try {
      await pool.hashPages(Buffer.alloc(4096, 1), 4096);
      const started = readdirSync('/proc/self/task').filter((t) => !before.has(t));
      const mainNice = niceOf(String(process.pid));
      // The pool's thread is among the threads it started, 10 below the main thread; the main thread stays where it was.
      expect(started.map(niceOf)).toContain(mainNice + 10);
      expect(niceOf(String(process.pid))).toBe(mainNice);
    } finally {
      await pool.close();
    }
  });

  it('ends its worker threads after an idle spell, so their memory goes back, and starts them again on the next call', async () => {
    const pool = new PageWorkers(1, { idleMs: 300 });
    try {
      expect(pool.running).toBe(0);
      const page = Buffer.alloc(4096, 7);
      const first = await pool.hashPages(page, 4096);
      expect(pool.running).toBe(1);
      await until(() => pool.running === 0, 10_000, 'the idle pool to end its threads');
      expect(await pool.hashPages(page, 4096)).toEqual(first);
      expect(pool.running).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
