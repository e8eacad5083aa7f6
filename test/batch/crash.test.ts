import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrashTest, type CrashResult } from './crash-harness';
import { openTestDb } from './fixtures';

// CI: 20 kills in about a minute. `npm run test:chaos` sets PH_CHAOS_KILLS (and PH_CHAOS_JOBS) higher.
const minKills = Number(process.env.PH_CHAOS_KILLS ?? 20);
const jobs = Number(process.env.PH_CHAOS_JOBS ?? 10_000);
const concurrency = 8;

describe('crash recovery of the SQLite queue under SIGKILL', () => {
  let t: ReturnType<typeof openTestDb>;
  let result: CrashResult;

  beforeAll(
    async () => {
      t = openTestDb();
      result = await runCrashTest({
        db: t.db,
        path: t.path,
        jobs,
        minKills,
        concurrency,
        jobMs: 10,
        killEveryMs: 2_000,
        finalConcurrency: 32,
        finishWithinMs: 60_000,
        log: process.env.PH_CHAOS_VERBOSE === '1' ? (l) => process.stderr.write(`${l}\n`) : undefined,
      });
      process.stderr.write(`crash test: ${JSON.stringify(result)}\n`);
    },
    90_000 + minKills * 4_000,
  );
  afterAll(() => t.close());

  it(`works through ${jobs} jobs while killed at least ${minKills} times, losing none`, () => {
    expect(result.kills).toBeGreaterThanOrEqual(minKills);
    expect(result.notCompleted).toBe(0);
    expect(result.completed).toBe(jobs);
  });

  it('leaves no job stuck past its lease', () => {
    expect(result.stuckPastLease).toBe(0);
  });

  it('starts a job twice at most once per kill and running slot', () => {
    expect(result.duplicateStarts).toBeLessThanOrEqual(result.kills * concurrency);
  });

  it('repeats no side effect of a job with an idempotency key', () => {
    expect(result.keyedJobs).toBe(jobs / 2);
    expect(result.duplicateEffects).toBe(0);
    expect(result.missingEffects).toBe(0);
  });
});
