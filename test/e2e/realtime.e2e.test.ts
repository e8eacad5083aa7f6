import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RealtimeClient } from '../../main/realtime/client';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe('Real-time view in Chromium', () => {
  let session: ConsoleSession;
  const clients: RealtimeClient[] = [];
  let timer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    session = await openConsole();
  });
  afterAll(async () => {
    clearInterval(timer);
    for (const c of clients) c.close();
    await session?.close();
  });

  it('shows connections, rooms with rates, presence and a live tail, and publishes from the form', async () => {
    const { page, plane } = session;
    const wsUrl = `${plane.url.replace('http', 'ws')}/ws`;
    const program = (await plane.op('keys.create', { name: 'inventory-service', role: 'operator' })).body.secret as string;
    const dashboard = (await plane.op('keys.create', { name: 'wall-dashboard', role: 'viewer' })).body.secret as string;
    const make = (token: string) => {
      const c = new RealtimeClient({ url: wsUrl, token, WebSocket: WebSocket as never });
      clients.push(c);
      return c;
    };
    const publisher = make(program);
    await publisher.subscribe('orders', { presence: { name: 'Inventory' } });
    for (let i = 0; i < 3; i += 1) await make(dashboard).subscribe('orders', { presence: { name: 'Dashboard' } });
    await make(dashboard).subscribe('alerts:floor');
    let n = 0;
    timer = setInterval(
      () => void publisher.publish('orders', { order: ++n, sku: `SKU-${100 + (n % 7)}`, qty: 1 + (n % 3) }).catch(() => undefined),
      100,
    );

    await signIn(session);
    await openView(session, 'Real-time');
    const rooms = page.getByTestId('rooms-table');
    await rooms.getByText('orders', { exact: true }).waitFor();
    const ordersRow = rooms.locator('tr', { hasText: 'orders' }).first();
    await expect.poll(() => ordersRow.locator('td').nth(1).textContent(), { timeout: 10_000 }).toBe('4');
    await expect.poll(() => ordersRow.locator('td').nth(2).textContent(), { timeout: 10_000 }).toBe('2');
    // Connections by user name the key, with its actor id on hover.
    const user = page.getByTestId('connections-table').getByText('wall-dashboard', { exact: true });
    await user.waitFor();
    expect(await user.getAttribute('title')).toMatch(/^key:/);

    await page.getByRole('button', { name: 'Watch orders' }).click();
    const tail = page.getByTestId('tail-table');
    await tail.getByText('SKU-', { exact: false }).first().waitFor();
    await page.getByText('Inventory', { exact: false }).first().waitFor();

    await page.getByLabel('Message (JSON)').fill('{"note":"restock aisle 4"}');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText('Published to orders at offset', { exact: false }).waitFor();
    await tail.getByText('restock aisle 4', { exact: false }).waitFor();

    // A few stats events (every 2 s) so the rate chart has a line to draw, over labelled axes.
    const chart = page.getByTestId('rate-chart');
    const line = chart.locator('polyline').first();
    const points = async () => ((await line.getAttribute('points').catch(() => null)) ?? '').trim().split(' ').filter(Boolean).length;
    await expect.poll(points, { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
    const labels = await chart.locator('text.axis').allTextContents();
    expect(labels).toContain('0');
    expect(labels.filter((l) => /^\d\d:\d\d:\d\d$/.test(l))).toHaveLength(3);
    const delivered = await page.getByTestId('realtime-stats').textContent();
    expect(delivered).toContain('Delivered / s');
    await session.screenshot('realtime');
  });

  it('follows a room that keeps no history live over its own hub connection, position included', async () => {
    const { page, plane } = session;
    const watcher = new RealtimeClient({
      url: `${plane.url.replace('http', 'ws')}/ws`,
      token: (await plane.op('keys.create', { name: 'progress-watcher', role: 'viewer' })).body.secret as string,
      WebSocket: WebSocket as never,
    });
    clients.push(watcher);
    await watcher.subscribe('progress:job.progress');
    const room = page.getByTestId('rooms-table').locator('tr', { hasText: 'progress:job.progress' });
    await room.waitFor();
    await page.getByRole('button', { name: 'Watch progress:job.progress' }).click();
    await page.getByText('Room progress:job.progress', { exact: false }).waitFor();
    const progress = plane.plane.running.progress;
    for (let step = 1; step <= 5; step += 1) {
      progress.publish('job.progress', `import-${step}`, { fraction: step / 5 });
      await page.getByTestId('tail-table').getByText(`import-${step}`, { exact: false }).waitFor();
    }
    const position = await page.getByText('Position:', { exact: false }).textContent();
    expect(position).toMatch(/@ \d+/);
    await session.screenshot('realtime-progress-tail');
  });
});
