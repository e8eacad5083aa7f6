import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

/** A port nothing listens on: a TCP check against it is critical. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('failure is visible in Chromium: unhealthy instances, a firing alert, a hung Redis', () => {
  let redis: TestRedis;
  let session: ConsoleSession;

  beforeAll(async () => {
    redis = await startRedis();
    session = await openConsole({ redisUrl: redis.url });
    await signIn(session);
  });
  afterAll(async () => {
    redis?.resume();
    await session?.close();
    await redis?.stop();
  });

  it('the Overview says degraded, naming why, over a non-durable Redis and a critical registered instance, and stays degraded, naming it, under a firing critical alert while the node is not down', async () => {
    const { page, plane } = session;
    const monitoring = plane.plane.running.monitoring;
    await monitoring.health.checkAll();
    await openView(session, 'Overview');
    // The suite's Redis keeps no AOF: fleet-redis runs degraded (PH_REDIS_NOT_DURABLE), and the summary says so, by name.
    await page.getByTestId('health-summary').getByText('degraded').waitFor();
    await page
      .getByTestId('health-reasons')
      .getByText(/fleet-redis is degraded \(.*PH_REDIS_NOT_DURABLE/)
      .waitFor();

    const registered = await plane.op('services.register', {
      name: 'billing',
      address: '127.0.0.1',
      port: await closedPort(),
      checks: [{ kind: 'tcp', intervalMs: 500 }],
    });
    expect(registered.status).toBe(200);
    await page.getByTestId('health-summary').getByText('degraded').waitFor({ timeout: 15_000 });
    await page
      .getByTestId('health-reasons')
      .getByText(/1 service instance\(s\) critical/)
      .waitFor();
    await page.getByText('0 passing · 1 critical').waitFor();

    // A rule that holds at once, critical: the node stays up (/readyz 200), so the summary is degraded, not "down".
    const saved = await plane.op('monitoring.alerts.save', {
      rule: {
        id: 'e2e-always',
        name: 'Memory in use',
        metric: 'system.rss_bytes',
        comparator: '>',
        threshold: 0,
        forSeconds: 0,
        severity: 'critical',
        enabled: true,
        description: 'Holds while the process runs',
      },
    });
    expect(saved.status).toBe(200);
    await monitoring.tick();
    await page.getByTestId('alerts-firing').getByText('Memory in use', { exact: true }).waitFor();
    await page
      .getByTestId('health-reasons')
      .getByText(/Memory in use is firing \(critical\)/)
      .waitFor();
    expect(await page.getByTestId('health-summary').textContent()).toContain('degraded');
    await session.screenshot('failure-overview-alert');
    expect((await plane.op('monitoring.alerts.delete', { id: 'e2e-always' })).status).toBe(200);
    expect((await plane.op('services.deregister', { id: registered.body.instance.id })).status).toBe(200);
  }, 60_000);

  it('with Redis hung (SIGSTOP) the Jobs view shows the error code instead of an empty, green queue, and the Overview shows Redis down', async () => {
    const { page, plane } = session;
    const monitoring = plane.plane.running.monitoring;
    redis.pause();
    await openView(session, 'Jobs');
    const down = page.getByTestId('queues-down');
    await down.waitFor({ timeout: 20_000 });
    expect(await down.textContent()).toContain('PH_REDIS_UNAVAILABLE');
    expect(await page.getByText('No job types', { exact: true }).count()).toBe(0);
    // No green zero of dead letters over a queue that did not answer.
    expect(await page.getByTestId('job-counts').textContent()).not.toContain('Dead letters');
    await page.getByTestId('dead-down').getByText('PH_REDIS_UNAVAILABLE').waitFor();
    await session.screenshot('failure-jobs-redis-hung');

    await monitoring.health.checkAll();
    await monitoring.tick();
    await openView(session, 'Overview');
    await page.getByTestId('dependency-redis').getByText('down', { exact: true }).waitFor();
    await expect.poll(async () => page.getByTestId('health-summary').textContent(), { timeout: 10_000 }).not.toContain('all well');
    await page
      .getByTestId('health-reasons')
      .getByText(/redis is down/)
      .waitFor();
    await session.screenshot('failure-overview-redis-hung');

    redis.resume();
    await monitoring.health.checkAll();
    await openView(session, 'Jobs');
    await page.getByTestId('queues-table').waitFor({ timeout: 20_000 });
  }, 90_000);
});
