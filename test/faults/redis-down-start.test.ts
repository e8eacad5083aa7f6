import { afterEach, describe, expect, it } from 'vitest';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { launchHeadless, type HeadlessNode } from './headless';

/** How long a node may take to answer /readyz with Redis away: its own start, plus a bounded wait on Redis or two. */
const READY_WITHIN_MS = 25_000;

describe('a node started while its Redis is away', () => {
  let redis: TestRedis | null = null;
  let node: HeadlessNode | null = null;
  let dir: { path: string; remove: () => void } | null = null;
  afterEach(async () => {
    await node?.kill();
    await redis?.stop();
    dir?.remove();
    node = null;
    redis = null;
    dir = null;
  });

  const readyz = async (url: string): Promise<number> => {
    try {
      return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).status;
    } catch {
      return 0;
    }
  };

  const jobRuns = async (n: HeadlessNode): Promise<void> => {
    let id = '';
    await until(
      async () => {
        const { status, body } = await n.op('jobs.enqueue', { type: 'cache.warm', payload: {} });
        id = status === 200 ? (body as { job: { id: string } }).job.id : '';
        return status === 200;
      },
      20_000,
      'jobs.enqueue to be taken once Redis is back',
    );
    await until(async () => (await n.op('jobs.get', { id })).body.job?.state === 'completed', 20_000, `job ${id} to complete`);
  };

  const scenarios: [string, (r: TestRedis) => Promise<void>, (r: TestRedis) => Promise<void>][] = [
    ['shut down', (r) => r.kill(), (r) => r.restart()],
    ['stopped (SIGSTOP)', async (r) => r.pause(), async (r) => r.resume()],
  ];

  it.each(scenarios)(
    'answers /readyz 200 and serves the console with Redis %s, then runs jobs once Redis is back, without a restart',
    async (_how, away, back) => {
      redis = await startRedis();
      dir = tempDir();
      await away(redis);
      const started = Date.now();
      node = await launchHeadless(dir.path, ['--redis-url', redis.url], { PILOTHOUSE_FLEET_SECRET: TEST_FLEET_SECRET });
      const url = node.url;
      await until(async () => (await readyz(url)) === 200, READY_WITHIN_MS, `/readyz to answer 200 (stderr: ${node.stderr()})`);
      expect(Date.now() - started).toBeLessThan(READY_WITHIN_MS);
      await node.running();
      // The console (or, unbuilt, the page saying so) is served.
      expect((await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
      const report = (await (await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${node.adminKey()}` } })).json()) as {
        services: { name: string; state: string }[];
      };
      expect(report.services.find((s) => s.name === 'redis')?.state).toBe('degraded');

      await back(redis);
      await jobRuns(node);
      // Every service picks Redis up (the test's Redis does not persist, which fleet-redis reports).
      let notRunning: string[] = [];
      await until(
        async () => {
          await new Promise((r) => setTimeout(r, 250));
          const res = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${node!.adminKey()}` } });
          const { services } = (await res.json()) as { services: { name: string; state: string; detail?: string }[] };
          notRunning = services.filter((s) => s.state !== 'running' && s.name !== 'fleet-redis').map((s) => `${s.name}: ${s.detail}`);
          return notRunning.length === 0;
        },
        20_000,
        'every service to run',
      ).catch((err: Error) => {
        throw new Error(`${err.message}; not running: ${notRunning.join(', ')}`);
      });
    },
    90_000,
  );
});
