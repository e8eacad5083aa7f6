import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousAxeViolations, sidewaysOverflow } from './axe-check';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';
import { cardsScrollingSideways } from './layout-check';

/** The sidebar's labels and the title each view gives the tab. */
const views = [
  'Overview',
  'Alerts',
  'Cache',
  'Real-time',
  'Jobs',
  'Sagas',
  'Backups',
  'Services',
  'Webhooks',
  'Security',
  'Audit',
  'GraphQL',
] as const;
const viewports = [
  { width: 1024, height: 700 },
  { width: 1440, height: 900 },
] as const;
const themes = ['dark', 'light'] as const;

/** The page's background colour as the browser computed it, e.g. `rgb(15, 20, 25)`. */
async function backgroundOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { documentElement: object };
      getComputedStyle(el: object): { backgroundColor: string };
    };
    return g.getComputedStyle(g.document.documentElement).backgroundColor;
  });
}

/** Perceived lightness 0–255 of an `rgb(r, g, b)` string. */
function lightness(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number);
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}

/** Lets a view's first requests answer, so the layout checked is the one with data in it. */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
}

describe('console layout and access in Chromium', () => {
  let session: ConsoleSession;
  let namedKeyId: string;
  let namedKeySecret: string;

  beforeAll(async () => {
    session = await openConsole();
    const { plane } = session;
    // A key with a name that acts: its audit row, realtime message and usage row carry its id.
    const created = await plane.op('keys.create', { name: 'inventory-service', role: 'operator' });
    namedKeyId = created.body.key.id as string;
    namedKeySecret = created.body.secret as string;
    expect((await plane.op('realtime.publish', { room: 'inventory', data: { sku: 0 } }, namedKeySecret)).status).toBe(200);
    // A backup source with a snapshot, so Backups has rows and a Restore dialog to open.
    const dbPath = join(plane.dataDir, 'inventory.db');
    const db = new BetterSqlite3(dbPath);
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    db.close();
    const source = await plane.op('backup.sources.register', {
      name: 'inventory',
      path: dbPath,
      schedule: '0 2 * * *',
      retention: { keepDaily: 7 },
    });
    expect((await plane.op('backup.snapshot', { id: source.body.source.id })).status).toBe(200);
    const queue = plane.plane.running.batch.queue;
    queue.register('demo.quick', () => 'ok');
    for (let i = 0; i < 3; i += 1) await plane.op('jobs.enqueue', { type: 'demo.quick', payload: { i } });
    // Long, realistic text (job types, progress, errors, service ids): the widths a view has to hold at 1024 px.
    queue.register('inventory.reconcile-warehouse-stock', (_payload, ctx) => {
      ctx.progress(0.5, 'reading warehouse-eu-central-1/stock-snapshot-2026-12-03T02:00:00Z.csv (row 48,200 of 96,400)');
      return 'ok';
    });
    queue.register('inventory.sync-upstream', () => {
      throw new Error(
        'upstream https://inventory.internal.example:8443/api/v2/warehouses/eu-central-1/stock?include=reservations,transfers answered 503 Service Unavailable',
      );
    });
    await plane.op('jobs.enqueue', {
      type: 'inventory.reconcile-warehouse-stock',
      payload: { file: 'stock-snapshot-2026-12-03T02:00:00Z.csv' },
    });
    await plane.op('jobs.enqueue', { type: 'inventory.sync-upstream', attempts: 1 });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const service = await plane.op('services.register', {
      name: 'inventory-reconciler',
      id: 'inventory-reconciler-eu-central-1a-7f9c2d',
      address: '127.0.0.1',
      port: closedPort,
      version: '3.14.159-rc.2',
      tags: ['eu-central-1', 'canary', 'warehouse'],
      checks: [{ kind: 'tcp', intervalMs: 500 }],
    });
    expect(service.status).toBe(200);
  });
  afterAll(async () => {
    await session?.close();
  });

  /** Each test can run on its own (`-t`): sign in unless an earlier one already did. */
  async function ensureSignedIn(): Promise<void> {
    if ((await session.page.getByRole('navigation', { name: 'Views' }).count()) === 0) await signIn(session);
  }

  it('the sign-in page has its own title, landmarks and no serious axe violation, and loads its favicon', async () => {
    const { page } = session;
    const missing: string[] = [];
    page.on('response', (response) => {
      if (response.status() === 404) missing.push(response.url());
    });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize(viewports[0]);
    await page.goto(`${session.plane.url}/`);
    await page.getByLabel('API key').waitFor();
    expect(await page.title()).toBe('Sign in · Pilothouse');
    expect(await page.getByRole('main').count()).toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).toMatch(/\.svg$/);
    const served = await page.request.get(new URL(icon!, `${session.plane.url}/`).toString());
    expect(served.status()).toBe(200);
    expect(served.headers()['content-type']).toContain('image/svg+xml');
    expect(missing).toEqual([]);
  });

  for (const theme of themes) {
    for (const viewport of viewports) {
      const size = `${viewport.width}×${viewport.height}`;
      const axe = viewport.width === 1024;
      it(
        `every view in the ${theme} theme at ${size} fits without sideways scroll, of the page or of any card, and has its own title${axe ? ', with no serious axe violation' : ''}`,
        async () => {
          const { page } = session;
          await page.emulateMedia({ colorScheme: theme });
          await page.setViewportSize(viewport);
          await ensureSignedIn();
          const problems: string[] = [];
          for (const label of views) {
            await openView(session, label);
            await settle(page);
            const where = `${label} at ${size} (${theme})`;
            if ((await page.title()) !== `${label} · Pilothouse`) problems.push(`${where}: title is ${await page.title()}`);
            const overflow = await sidewaysOverflow(page);
            if (overflow > 0) problems.push(`${where}: scrolls ${overflow} px sideways`);
            for (const card of await cardsScrollingSideways(page)) problems.push(`${where}: ${card}`);
            // Contrast and names do not change with the width: one axe run per view and theme, at the narrow size.
            if (axe) for (const v of await seriousAxeViolations(page)) problems.push(`${where}: ${v}`);
            await session.screenshot(`view-${label.toLowerCase().replace(/[^a-z]/g, '')}-${viewport.width}x${viewport.height}-${theme}`);
          }
          expect(problems).toEqual([]);
        },
        // Twelve views, each loaded and photographed (and checked by axe at 1024 px) on a loaded 2-core machine.
        90_000,
      );
    }
  }

  it('follows prefers-color-scheme until the toggle chooses, and keeps the choice across a reload', async () => {
    const { page } = session;
    await ensureSignedIn();
    await page.evaluate(() => (globalThis as unknown as { localStorage: { clear(): void } }).localStorage.clear());
    await page.reload();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    // The system's change reaches the page as a media-query event, which sets the theme attribute.
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(async () => lightness(await backgroundOf(page))).toBeGreaterThan(200);
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(async () => lightness(await backgroundOf(page))).toBeLessThan(60);

    await page.getByTestId('theme-toggle').click();
    expect(lightness(await backgroundOf(page))).toBeGreaterThan(200);
    await page.reload();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    expect(lightness(await backgroundOf(page))).toBeGreaterThan(200);
    await page.getByTestId('theme-toggle').click();
    await page.emulateMedia({ colorScheme: 'light' });
    expect(lightness(await backgroundOf(page))).toBeLessThan(60);
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { dataset: { theme?: string } } } }).document.documentElement.dataset
            .theme,
      ),
    ).toBe('dark');
  });

  it('shows key names where key ids were, with the id on hover', async () => {
    const { page, plane } = session;
    await ensureSignedIn();
    // Enough calls that the key's row is among the few the Overview's usage card shows.
    for (let i = 0; i < 30; i += 1) await plane.op('realtime.publish', { room: 'inventory', data: { sku: i } }, namedKeySecret);
    // Publishes are audited by count, written as a row once their minute ends, and usage is written at
    // each sampling tick (10 s): both written now rather than waited for.
    plane.plane.running.auditCounts.flush(true);
    await plane.plane.running.monitoring.tick();
    await openView(session, 'Audit');
    const who = page.getByTestId('audit-table').locator('tr', { hasText: 'realtime.publish' }).first().getByText('inventory-service');
    await who.waitFor();
    expect(await who.getAttribute('title')).toBe(`key:${namedKeyId}`);
    // The Who filter takes the name the table shows; the Action filter the start of an action.
    await page.getByLabel('Audit actor').fill('inventory-service');
    await page.getByTestId('audit-actor').getByText(`key:${namedKeyId}`).waitFor();
    await page.getByLabel('Audit action').fill('realtime');
    await expect
      .poll(async () => {
        const rows = page.getByTestId('audit-table').locator('tbody tr:not([aria-hidden])');
        const all = await rows.count();
        return all > 0 && all === (await rows.filter({ hasText: 'realtime.publish' }).count());
      })
      .toBe(true);
    await page.getByLabel('Audit actor').fill('');
    await page.getByLabel('Audit action').fill('');

    // Usage is counted in memory and written at each sampling tick (10 s): written now, not waited for.
    await plane.plane.running.monitoring.tick();
    await openView(session, 'Overview');
    await page.getByRole('button', { name: 'Refresh' }).click();
    const usage = page.getByTestId('usage-table').getByText('inventory-service').first();
    await usage.waitFor();
    expect(await usage.getAttribute('title')).toBe(namedKeyId);
  });

  it('the restore dialog takes focus, keeps Tab inside, has no serious axe violation and closes on Escape back to its button', async () => {
    const { page } = session;
    await ensureSignedIn();
    await openView(session, 'Backups');
    const opener = page.getByTestId('backup-snapshots').getByRole('button', { name: 'Restore…' }).first();
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const inside = () => dialog.evaluate((el) => el.contains((el.ownerDocument as { activeElement: unknown }).activeElement as never));
    expect(await inside()).toBe(true);
    for (let i = 0; i < 8; i += 1) {
      await page.keyboard.press('Tab');
      expect(await inside()).toBe(true);
    }
    await page.keyboard.press('Shift+Tab');
    expect(await inside()).toBe(true);
    expect(await seriousAxeViolations(page, '[role="dialog"]')).toEqual([]);
    await session.screenshot('dialog-restore-1024x700');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await opener.evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement)).toBe(true);
  });

  it('reaches every view from the keyboard, with a visible focus ring', async () => {
    const { page } = session;
    await ensureSignedIn();
    await openView(session, 'Overview');
    const nav = page.getByRole('navigation', { name: 'Views' });
    await nav.getByRole('link', { name: 'Overview', exact: true }).focus();
    for (const label of views.slice(1)) {
      await page.keyboard.press('Tab');
      const focused = nav.getByRole('link', { name: label, exact: true });
      expect(await focused.evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement)).toBe(true);
      const outline = await focused.evaluate((el) => {
        const style = (
          globalThis as unknown as { getComputedStyle(e: object): { outlineStyle: string; outlineWidth: string } }
        ).getComputedStyle(el);
        return `${style.outlineStyle} ${style.outlineWidth}`;
      });
      expect(outline).not.toMatch(/^none|0px$/);
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: views.at(-1) }).waitFor();
  });

  it('says on the sign-in page why the session ended when its key is revoked while signed in', async () => {
    const { page, plane } = session;
    const created = await plane.op('keys.create', { name: 'short-lived', role: 'operator' });
    expect(created.status).toBe(200);
    if ((await page.getByRole('navigation', { name: 'Views' }).count()) > 0) await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(session, created.body.secret as string);
    expect((await plane.op('keys.revoke', { id: created.body.key.id })).status).toBe(200);
    await page
      .getByTestId('session-ended')
      .getByText(/the API key it was signed in with was revoked/)
      .waitFor();
    await page.getByLabel('API key').waitFor();
  });
});
