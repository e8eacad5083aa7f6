import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

/** Polls until `check` holds, bounded in time. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('Overview in Chromium: live charts after load, and an alert when Redis stops', () => {
  let redis: TestRedis;
  let session: ConsoleSession;

  beforeAll(async () => {
    redis = await startRedis();
    session = await openConsole({ redisUrl: redis.url });
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
    await redis?.stop();
  });

  it('draws request rate, latency, event loop and memory charts from the samples taken during a scripted load', async () => {
    const { page, plane } = session;
    const monitoring = plane.plane.running.monitoring;
    await openView(session, 'Overview');
    // 12 rounds, one a second: a burst of calls (a few of them failing), then a sample.
    for (let round = 0; round < 12; round += 1) {
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 10 + round * 3; i += 1) calls.push(plane.op(i % 4 === 0 ? 'monitoring.series' : 'system.status'));
      calls.push(plane.op('keys.list'), plane.op('no.such.op'));
      await Promise.all(calls);
      await monitoring.tick();
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await page.getByRole('button', { name: '5 min', exact: true }).click();
    const requests = page.getByTestId('chart-http.requests_per_second');
    await requests.locator('polyline').first().waitFor();
    await expect
      .poll(() => page.getByTestId('chart-system.eventloop_delay_p99_ms').locator('polyline').count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('chart-system.rss_bytes').locator('polyline').count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('chart-http.latency_p50_ms').locator('polyline').count(), { timeout: 10_000 }).toBe(2);
    // 12 samples at least a second apart span 11 s or more: over 5 min the chart's points are 3 s apart (120 a range), so the
    // load alone draws 4 or more. The chart may still show a read taken mid-load; the one after the load has them all.
    const points = async () => ((await requests.locator('polyline').first().getAttribute('points'))?.split(' ') ?? []).length;
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    await page.getByTestId('slowest-table').locator('tbody tr').first().waitFor();
    await expect.poll(() => page.getByTestId('slowest-table').locator('tbody tr').count(), { timeout: 10_000 }).toBe(5);
    await page.getByTestId('dependency-redis').getByText('up', { exact: true }).waitFor();
    await expect.poll(() => page.getByTestId('alerts-firing').count(), { timeout: 10_000 }).toBe(0);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByTestId('usage-table').getByText('POST /api/v2/ops/system.status').first().waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^pilothouse-usage_.*\.csv$/);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('keyId,route,requests,errors,bytesIn,bytesOut,tier,refused');
    expect(csv).toMatch(/,POST \/api\/v2\/ops\/:name,12,12,/);
    await session.screenshot('overview-after-load');
  }, 60_000);

  it('lets an admin shorten the Redis rule, and shows the alert firing on top once Redis is stopped', async () => {
    const { page, plane } = session;
    const monitoring = plane.plane.running.monitoring;
    const row = page.getByTestId('rule-redis-down');
    await row.getByLabel('Redis down for seconds').fill('0');
    await row.getByRole('button', { name: 'Save' }).click();
    await until(
      async () => (await plane.op('monitoring.alerts')).body.rules.find((r: { id: string }) => r.id === 'redis-down')?.forSeconds === 0,
    );

    await redis
      .client()
      .call('shutdown', 'nosave')
      .catch(() => undefined);
    await until(() => plane.plane.running.redis?.connected === false);
    await monitoring.health.checkAll();
    await monitoring.tick();

    const firing = page.getByTestId('alerts-firing');
    await firing.getByText('Redis down', { exact: true }).waitFor();
    await expect.poll(() => firing.textContent(), { timeout: 10_000 }).toContain('redis.up is 0');
    await page.getByTestId('dependency-redis').getByText('down', { exact: true }).waitFor();
    await page.getByTestId('rule-redis-down').getByText('firing').waitFor();
    await expect.poll(() => page.getByTestId('recommendations').textContent(), { timeout: 10_000 }).toContain('redis is down since');
    await page.getByText('disconnected', { exact: true }).waitFor();
    await page
      .getByTestId('services-table')
      .locator('tr', { has: page.getByText('redis', { exact: true }) })
      .getByText('degraded')
      .waitFor();
    await session.screenshot('overview-alert-firing');
  });
});
