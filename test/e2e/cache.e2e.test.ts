import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe('Cache view in Chromium: live numbers after a scripted load, and a confirmed namespace clear', () => {
  let redis: TestRedis;
  let session: ConsoleSession;
  let operator: string;

  const rest = async (method: string, path: string, body?: unknown): Promise<number> => {
    const headers: Record<string, string> = { authorization: `Bearer ${operator}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${session.plane.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  };

  beforeAll(async () => {
    redis = await startRedis();
    session = await openConsole({ redisUrl: redis.url });
    operator = (await session.plane.op('keys.create', { name: 'lan-app', role: 'operator' })).body.secret;
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
    await redis?.stop();
  });

  it('shows hit ratios, tier counts, namespaces and top keys from a scripted load, live', async () => {
    const { page } = session;
    await openView(session, 'Cache');
    // Three namespaces over ~12 s: mostly hits in `users`, a colder `products`, misses in `sessions`.
    for (let round = 0; round < 12; round += 1) {
      const calls: Promise<number>[] = [];
      for (let i = 0; i < 20; i += 1)
        calls.push(
          rest('PUT', `/api/v1/cache/users/user:${round * 20 + i}`, { value: { id: i, name: `user ${i}` }, tags: [`team:${i % 3}`] }),
        );
      await Promise.all(calls);
      const reads: Promise<number>[] = [];
      for (let i = 0; i < 60; i += 1) reads.push(rest('GET', `/api/v1/cache/users/user:${(round * 20 + i) % (round * 20 + 20)}`));
      for (let i = 0; i < 10; i += 1) reads.push(rest('GET', `/api/v1/cache/products/p${i}`));
      if (round % 3 === 0)
        for (let i = 0; i < 5; i += 1)
          reads.push(rest('PUT', `/api/v1/cache/products/p${i}`, { value: { sku: i, blob: 'x'.repeat(2000 * (i + 1)) } }));
      for (let i = 0; i < 8; i += 1) reads.push(rest('GET', `/api/v1/cache/sessions/s${round}-${i}`));
      const statuses = await Promise.all(reads);
      expect(statuses.every((s) => s === 200 || s === 204 || s === 404)).toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await page.getByTestId('namespace-users').waitFor();
    await page.getByTestId('namespace-sessions').waitFor();
    await page.getByTestId('hottest-keys').waitFor();
    await session.screenshot('cache-during-load');
    await page.getByTestId('largest-keys').getByText('products/p4').waitFor();
    const ratio = page.getByTestId('chart-cache.hit_ratio');
    await ratio.locator('polyline').first().waitFor();
    const points = (await ratio.locator('polyline').first().getAttribute('points'))?.split(' ') ?? [];
    expect(points.length).toBeGreaterThanOrEqual(4);
    await expect.poll(() => page.getByTestId('chart-cache.l1_per_second').locator('polyline').count(), { timeout: 10_000 }).toBe(4);
    await expect.poll(() => page.getByTestId('namespace-users').textContent(), { timeout: 10_000 }).toMatch(/users\d/);
    await expect.poll(() => page.getByTestId('cache-stats').textContent(), { timeout: 10_000 }).toMatch(/Redis/);
    await session.screenshot('cache-after-load');
  }, 60_000);

  it('clears one namespace after confirmation, audited, and leaves the others', async () => {
    const { page, plane } = session;
    await page.getByLabel('Namespace').first().fill('products');
    await page.getByRole('button', { name: 'Clear namespace' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Clear namespace' }).click();
    await page.getByTestId('cache-action-result').getByText('Cleared namespace products').waitFor();
    expect(await rest('GET', '/api/v1/cache/products/p1')).toBe(404);
    expect(await rest('GET', '/api/v1/cache/users/user:1')).toBe(200);
    const audit = await plane.op('audit.list', { limit: 50 });
    expect(audit.body.entries.some((e: { action: string; actor: string }) => e.action === 'cache.clear')).toBe(true);
    await page.getByTestId('keys-browser').getByRole('button', { name: 'user:1', exact: true }).click();
    const inspector = page.getByTestId('key-inspector');
    await inspector.getByText('L1 fresh').waitFor();
    await inspector.getByTestId('json-tree').getByText('"user 1"').waitFor();
    await session.screenshot('cache-after-clear');
  });

  it('offers Warm only for a namespace with a warm-up list on this node, saying why not for another, and runs it', async () => {
    const { page, plane } = session;
    plane.plane.running.cache.registerWarmup('users', {
      keys: () => ['user:1', 'user:2'],
      loader: ({ key }) => `${key} warmed`,
      atStart: false,
    });
    await page.reload();
    const warm = page.getByRole('button', { name: 'Warm', exact: true });
    await page.getByLabel('Namespace').first().fill('products');
    await expect.poll(() => warm.getAttribute('title')).toBe('products has no warm-up list on this node (users have)');
    expect(await warm.isDisabled()).toBe(true);
    await page.getByLabel('Namespace').first().fill('users');
    await expect.poll(() => warm.isEnabled()).toBe(true);
    await warm.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Warm' }).click();
    await page.getByTestId('cache-action-result').getByText('Warmed users (2/2)').waitFor();
  });

  it('reads the key list again when keys of its namespace are dropped or written elsewhere, at most about once a second under a burst', async () => {
    const { page, plane } = session;
    await page.reload();
    const keysCard = page.locator('section.card', { has: page.getByTestId('keys-browser') });
    await keysCard.getByLabel('Namespace').selectOption('users');
    const list = page.getByTestId('keys-browser');
    await list.getByRole('button', { name: 'user:1', exact: true }).waitFor();
    const reads: number[] = [];
    page.on('request', (request) => request.url().endsWith('/ops/cache.keys') && reads.push(Date.now()));

    expect((await plane.op('cache.put', { namespace: 'users', key: 'elsewhere:1', value: 1, ttl: 600_000 })).status).toBe(200);
    await list.getByRole('button', { name: 'elsewhere:1', exact: true }).waitFor({ timeout: 5_000 });
    expect((await plane.op('cache.invalidate', { namespace: 'users', keys: ['elsewhere:1'] })).status).toBe(200);
    await list.getByRole('button', { name: 'elsewhere:1', exact: true }).waitFor({ state: 'detached', timeout: 5_000 });

    reads.length = 0;
    const start = Date.now();
    for (let i = 0; i < 40; i += 1) await plane.op('cache.put', { namespace: 'users', key: `burst:${i}`, value: i, ttl: 600_000 });
    await list.getByRole('button', { name: 'burst:39', exact: true }).waitFor({ timeout: 5_000 });
    const seconds = (Date.now() - start) / 1000;
    // One read at the first event, then at most one per second the burst and its last read took.
    expect(reads.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
  });
});
