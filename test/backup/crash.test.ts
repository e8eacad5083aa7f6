import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageWorkers } from '../../main/backup';
import { tempDir } from '../helpers/temp-dir';
import { buildChild, killLoop, type KillReport } from './crash/crash-harness';

// 50 kills in CI, spread over 5 lanes (each its own repository and target) so the wait for process
// start-up overlaps. `npm run test:chaos` runs the same loop much longer (test/backup/crash/chaos.ts).
const LANES = 5;
const KILLS_PER_LANE = 10;

describe('crash safety under SIGKILL', () => {
  const dir = tempDir('ph-crash-');
  let child: string;
  let workers: PageWorkers;
  beforeAll(async () => {
    child = await buildChild(`${dir.path}/build`);
    workers = new PageWorkers(2);
  });
  afterAll(async () => {
    await workers.close();
    dir.remove();
  });

  it(`after each of ${LANES * KILLS_PER_LANE} kills during snapshot, prune and in-place restore, the repository verifies and the target is the old or the new image`, async () => {
    const lanes = Array.from({ length: LANES }, (_, i) => killLoop(child, `${dir.path}/lane-${i}`, KILLS_PER_LANE, workers));
    // Every lane finishes before any failure is reported, so no child is still writing when the directory goes.
    const settled = await Promise.allSettled(lanes);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const reports: KillReport[] = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    expect(reports).toHaveLength(LANES * KILLS_PER_LANE);
    expect(reports.reduce((n, r) => n + r.snapshotsVerified, 0)).toBeGreaterThan(0);
    // Some kills must have landed inside an in-place restore, or the test proved little.
    expect(reports.filter((r) => r.intentChecked).length).toBeGreaterThan(0);
  }, 120_000);
});
