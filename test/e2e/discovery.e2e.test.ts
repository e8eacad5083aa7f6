import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

/** A real HTTP service on 127.0.0.1 whose /health answers with `status`. */
async function service(): Promise<{ port: number; status: number; server: Server }> {
  const state = { status: 200 };
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? state.status : 200, { 'content-type': 'text/plain' });
    res.end(state.status === 200 ? 'ok' : 'database connection refused');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { port: (server.address() as { port: number }).port, server });
}

describe('Services view in Chromium', () => {
  let session: ConsoleSession;
  const servers: { port: number; status: number; server: Server }[] = [];

  beforeAll(async () => {
    session = await openConsole();
    for (let i = 0; i < 3; i += 1) servers.push(await service());
    const check = { kind: 'http', timeoutMs: 1000, intervalMs: 200, failuresBeforeCritical: 2 };
    for (const [i, s] of servers.entries()) {
      const res = await session.plane.op('services.register', {
        name: i < 2 ? 'orders' : 'billing',
        id: `${i < 2 ? 'orders' : 'billing'}-${i + 1}`,
        address: '127.0.0.1',
        port: s.port,
        version: i === 0 ? '2.1.0' : '2.2.0',
        tags: ['eu'],
        checks: [check, { kind: 'tcp', intervalMs: 500 }],
      });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    await session?.close();
    for (const s of servers) await new Promise<void>((resolve) => s.server.close(() => resolve()));
  });

  it('shows registered services passing, then one instance critical with its failing check output', async () => {
    const { page } = session;
    await signIn(session);
    await openView(session, 'Services');
    const orders = page.getByTestId('service-orders');
    await orders.getByText('2 passing').waitFor({ timeout: 10_000 });
    await page.getByTestId('service-billing').getByText('1 passing').waitFor({ timeout: 10_000 });
    await session.screenshot('services-passing');

    // Fail one: its /health starts answering 500; after two failures in a row it is critical.
    (servers[1] as { status: number }).status = 500;
    const row = page.getByTestId('instance-orders-2');
    await row.locator('.badge', { hasText: 'critical' }).first().waitFor({ timeout: 10_000 });
    await orders.getByText('1 passing · 1 critical').waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: 'orders-2' }).click();
    const detail = page.getByTestId('instance-detail-orders-2');
    await detail.getByText('500 Internal Server Error', { exact: false }).waitFor();
    await expect.poll(() => detail.textContent(), { timeout: 10_000 }).toContain('database connection refused');
    await session.screenshot('services-critical');

    const picked = await session.plane.op('services.pick', { name: 'orders' });
    expect(picked.body.instance.id).toBe('orders-1');
  });

  it('filters by state and puts an instance into maintenance after confirming', async () => {
    const { page } = session;
    await page.getByLabel('State').selectOption('critical');
    await page.getByTestId('instance-orders-2').waitFor();
    // The filtered list arrives after the select changes: wait for it rather than count the old rows.
    await expect.poll(() => page.getByTestId('instances-table').locator('tbody tr').count(), { timeout: 10_000 }).toBe(2); // the row and its open detail
    await page.getByLabel('State').selectOption('');
    await page.getByTestId('instance-billing-3').getByRole('button', { name: 'Maintenance' }).click();
    const ask = page.getByRole('dialog');
    await ask.getByLabel('Reason').fill('disk swap');
    await ask.getByRole('button', { name: 'Start maintenance' }).click();
    await page.getByTestId('instance-billing-3').getByText('disk swap').waitFor();
    await page.getByTestId('service-billing').getByText('1 maintenance').waitFor();
    const got = await session.plane.op('services.get', { id: 'billing-3' });
    expect(got.body.instance.state).toBe('maintenance');
    await session.screenshot('services-maintenance');
  });

  it('shows a bad version range as a coded error', async () => {
    const { page } = session;
    await page.getByLabel('Version range').fill('not a range!!');
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 }).toContain('PH_DISCOVERY_BAD_RANGE');
    await page.getByLabel('Version range').fill('^2.2');
    await page.getByTestId('instance-orders-2').waitFor();
    // orders-2 is listed before and after the filter applies: wait for orders-1 to leave rather than count once.
    await expect.poll(() => page.getByTestId('instance-orders-1').count(), { timeout: 10_000 }).toBe(0);
  });
});
