import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';

describe('the maintenance job on the fleet queue', () => {
  let redis: TestRedis | undefined;
  let t: TestPlane | undefined;
  let dir: { path: string; remove: () => void } | undefined;
  afterEach(async () => {
    await t?.stop();
    await redis?.stop();
    dir?.remove();
  });

  it('is placed on its own node, repeats daily without a second copy after a restart, and runs on demand', async () => {
    redis = await startRedis();
    dir = tempDir('ph-maintenance-fleet-');
    t = await startTestPlane({ redisUrl: redis.url, dataDir: dir.path });
    const scheduled = (await t.op('jobs.list', { type: 'maintenance.run' })).body.jobs;
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]).toMatchObject({ state: 'delayed', repeatCron: '17 3 * * *', node: t.plane.nodeId });

    await t.plane.stop();
    t = await startTestPlane({ redisUrl: redis.url, dataDir: dir.path });
    expect((await t.op('jobs.list', { type: 'maintenance.run' })).body.jobs).toHaveLength(1);

    const id = (await t.op('jobs.enqueue', { type: 'maintenance.run', payload: { node: t.plane.nodeId } })).body.job.id as string;
    let job: { state: string; node: string; result: { cuts: { name: string }[] } } | undefined;
    await until(
      async () => {
        job = (await t!.op('jobs.get', { id })).body.job;
        return job?.state === 'completed' || job?.state === 'dead';
      },
      20_000,
      'the maintenance run to end',
    );
    expect(job).toMatchObject({ state: 'completed', node: t.plane.nodeId });
    expect(job?.result.cuts.map((c) => c.name)).toContain('audit log');
  });
});
