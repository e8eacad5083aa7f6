import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageRepository, PageWorkers, pruneRepository, reassemble, selectKept, storeImage, type RetentionPolicy } from '../../main/backup';
import { tempDir } from '../helpers/temp-dir';

const PAGE = 512;
const t0 = Date.parse('2026-01-01T00:00:00Z');

/** A synthetic image: page 1 carries a SQLite header (512-byte pages); the rest come from a small alphabet, so snapshots share pages. */
function image(pageIds: number[]): Buffer {
  const pages = pageIds.map((id, i) => {
    const p = Buffer.alloc(PAGE, id);
    p.writeUInt32BE(id, 100);
    if (i === 0) {
      p.write('SQLite format 3\0', 0, 'latin1');
      p.writeUInt16BE(PAGE, 16);
    }
    return p;
  });
  return Buffer.concat(pages);
}

const snapshotArb = fc.record({
  source: fc.constantFrom('a', 'b'),
  hoursLater: fc.integer({ min: 1, max: 24 * 20 }),
  pages: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
});

const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
  {
    keepLast: fc.integer({ min: 0, max: 4 }),
    keepHourly: fc.integer({ min: 0, max: 3 }),
    keepDaily: fc.integer({ min: 0, max: 4 }),
    keepWeekly: fc.integer({ min: 0, max: 2 }),
    keepMonthly: fc.integer({ min: 0, max: 2 }),
    keepWithin: fc.constantFrom('6h', '2d', '1w'),
  },
  { requiredKeys: [] },
);

// A schedule: rounds of snapshots, each followed by a prune under rules that may change between rounds.
const scheduleArb = fc.array(fc.record({ snapshots: fc.array(snapshotArb, { minLength: 1, maxLength: 5 }), a: policyArb, b: policyArb }), {
  minLength: 1,
  maxLength: 4,
});

describe('prune (mark and sweep) over random schedules and retention rules', () => {
  let workers: PageWorkers;
  beforeAll(() => {
    workers = new PageWorkers(2);
  });
  afterAll(async () => workers.close());

  it('never deletes a page a kept snapshot needs, and leaves no page that none needs', async () => {
    await fc.assert(
      fc.asyncProperty(
        scheduleArb,
        fc.constantFrom(0, 0.25, 1),
        fc.constantFrom(600, 4096),
        async (rounds, repackThreshold, packTargetBytes) => {
          const dir = tempDir('ph-prune-');
          const repo = new PageRepository(join(dir.path, 'repo'), workers, { repackThreshold, packTargetBytes });
          repo.open();
          try {
            let clock = t0;
            const expected = new Map<string, string>(); // snapshot id -> image hash
            for (const round of rounds) {
              for (const s of round.snapshots) {
                clock += s.hoursLater * 3_600_000;
                const file = join(dir.path, `img-${clock}`);
                const bytes = image(s.pages);
                writeFileSync(file, bytes);
                const { manifest } = await storeImage(repo, file, {
                  sourceId: s.source,
                  sourceName: s.source,
                  capturedAt: clock,
                  trigger: 'schedule',
                });
                expected.set(manifest.id, createHash('sha256').update(bytes).digest('hex'));
              }
              const policies: Record<string, RetentionPolicy> = { a: round.a, b: round.b };
              const before = repo.listManifests();
              const { removed, kept } = await pruneRepository(repo, (src) => policies[src] ?? {}, clock);
              // Exactly what the rules keep, per source.
              const want = new Set<string>();
              for (const src of ['a', 'b'])
                selectKept(
                  before.filter((h) => h.sourceId === src),
                  policies[src] ?? {},
                  clock,
                ).forEach((id) => want.add(id));
              expect(new Set(kept)).toEqual(want);
              for (const id of removed) expected.delete(id);
              // Every kept snapshot rebuilds with every page intact and the right image hash.
              for (const id of kept) {
                const out = join(dir.path, `check-${id}`);
                const { badPages } = await reassemble(repo, repo.readManifest(id), out);
                expect(badPages).toEqual([]);
                expect(await workers.hashFile(out)).toBe(expected.get(id));
              }
              // And no page is left that no kept snapshot names (rows of dead pages are gone from the index).
              const live = new Set<string>();
              for (const id of kept) {
                const m = repo.readManifest(id);
                for (let i = 0; i < m.pageCount; i += 1) live.add(m.pages.subarray(i * 32, i * 32 + 32).toString('hex'));
              }
              expect(repo.stats().pages).toBe(live.size);
            }
          } finally {
            repo.close();
            dir.remove();
          }
        },
      ),
      { numRuns: 20 },
    );
  }, 120_000);
});
