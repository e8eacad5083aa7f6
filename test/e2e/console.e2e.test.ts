import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe('console in Chromium against a headless node', () => {
  let session: ConsoleSession;

  beforeAll(async () => {
    session = await openConsole();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('refuses a wrong key on the sign-in page with the error code', async () => {
    const { page } = session;
    await page.goto(`${session.plane.url}/`);
    await page.getByLabel('API key').fill('ph_0000000000000000_notarealsecretnotarealsecretnotarealsecret1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 10_000 }).toContain('PH_UNAUTHENTICATED');
    await session.screenshot('sign-in-refused');
  });

  it('signs in with the admin key and shows every service running on Overview', async () => {
    await signIn(session);
    const table = session.page.getByTestId('services-table');
    await table.getByText('store').waitFor();
    await table.getByText('http').waitFor();
    await expect.poll(() => table.getByText('running').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await session.screenshot('overview');
  });

  it('shows the Overview for a link to a view that does not exist, and says so in the address', async () => {
    const { page } = session;
    await page.goto(`${session.plane.url}/#/nosuchview`);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await expect.poll(() => new URL(page.url()).hash).toBe('#/overview');
  });

  it('creates a key in Security, shows its secret once, and lists the creation in Audit beside what the log keeps', async () => {
    const { page } = session;
    await openView(session, 'Security');
    await page.getByLabel('Name').fill('e2e-inventory');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('new-key').locator('code').textContent();
    expect(secret).toMatch(/^ph_[0-9a-f]{16}_/);
    await session.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: session.plane.url });
    await page.getByTestId('new-key').getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByTestId('new-key').getByRole('button', { name: 'Copied', exact: true }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    await page.getByTestId('keys-table').getByText('e2e-inventory').waitFor();
    await session.screenshot('security');

    await openView(session, 'Audit');
    const audit = page.getByTestId('audit-table');
    await audit.getByText('keys.create').first().waitFor();
    await expect.poll(() => audit.locator('tr', { hasText: 'keys.create' }).count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.getByTestId('chain-state').textContent(), { timeout: 10_000 }).toContain('intact');
    // What each history keeps, read-only, under the log.
    await page.getByTestId('retention-cuts').getByText('audit log').waitFor();
    expect(await page.getByTestId('retention-cuts').locator('tr', { hasText: 'audit log' }).textContent()).toContain('365 days');
    expect(await page.getByTestId('retention-schedule').textContent()).toContain('17 3 * * *');
    await session.screenshot('audit');
  });

  it('revokes a key from Security after confirmation, and the API refuses it from then on', async () => {
    const { page } = session;
    const created = await session.plane.op('keys.create', { name: 'e2e-to-revoke', role: 'viewer' });
    expect((await session.plane.op('system.status', {}, created.body.secret)).status).toBe(200);
    await openView(session, 'Security');
    await page.getByTestId('keys-table').locator('tr', { hasText: 'e2e-to-revoke' }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await page.getByTestId('keys-table').getByText('e2e-to-revoke').waitFor({ state: 'detached' });
    const refused = await session.plane.op('system.status', {}, created.body.secret);
    expect(refused.status).toBe(401);
  });

  it('signs out on the server too: the token the tab held is refused from then on', async () => {
    const { page } = session;
    // Still signed in from the tests before.
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    // Runs in the page, where sessionStorage exists; the test's own types have no DOM.
    const stored = await page.evaluate(() =>
      (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('pilothouse.session'),
    );
    const token = (JSON.parse(stored ?? '{}') as { token?: string }).token;
    expect(token).toBeTruthy();
    expect((await session.plane.op('system.status', {}, token)).status).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    await expect.poll(async () => (await session.plane.op('system.status', {}, token)).status, { timeout: 10_000 }).toBe(401);
  });
});
