import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { seriousAxeViolations } from './axe-check';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

const dialogViolations = (page: Page) => seriousAxeViolations(page, '[role="dialog"]');
const focusInside = (dialog: Locator) =>
  dialog.evaluate((el) => el.contains((el.ownerDocument as { activeElement: unknown }).activeElement as never));
const isFocused = (el: Locator) => el.evaluate((e) => e === (e.ownerDocument as { activeElement: unknown }).activeElement);

/**
 * Opens a lever's dialog from `opener` by keyboard, checks focus moved in and Tab (or a click
 * behind it) leaves it in, that axe
 * finds nothing serious in it, that Escape closes it with focus back on the opener, then opens it
 * again for the test to confirm.
 */
async function checkDialog(page: Page, opener: Locator, shot: string, session: ConsoleSession): Promise<Locator> {
  await opener.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  expect(await focusInside(dialog)).toBe(true);
  for (let i = 0; i < 6; i += 1) {
    await page.keyboard.press('Tab');
    expect(await focusInside(dialog)).toBe(true);
  }
  // A click on the dimmed page behind leaves focus in the dialog, so Escape still reaches it.
  await page.mouse.click(3, 3);
  expect(await focusInside(dialog)).toBe(true);
  expect(await dialogViolations(page)).toEqual([]);
  await session.screenshot(`dialog-${shot}`);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  expect(await isFocused(opener)).toBe(true);
  await opener.click();
  await dialog.waitFor();
  return dialog;
}

/** A small database in rollback-journal mode: a writer's EXCLUSIVE lock then keeps a snapshot's capture waiting. */
function makeDatabase(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = DELETE');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  db.exec(
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO items (body) SELECT hex(randomblob(100)) FROM c`,
  );
  return db;
}

describe("The operator's levers in Chromium: each in an in-page dialog, audited", () => {
  let session: ConsoleSession;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await startReceiver();
    session = await openConsole();
    const { plane } = session;
    // A rule that fires at the first sample: the resident memory is always above 1 byte.
    await plane.op('monitoring.alerts.save', {
      rule: {
        id: 'rss-seen',
        name: 'Memory in use',
        metric: 'system.rss_bytes',
        comparator: '>',
        threshold: 1,
        forSeconds: 0,
        severity: 'warning',
        enabled: true,
        description: 'Always fires: a lever to pull.',
      },
    });
    await plane.plane.running.monitoring.tick();
    // A step that never comes names itself, instead of the whole test timing out.
    session.page.setDefaultTimeout(10_000);
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
    await rx?.close();
  });

  const audited = async (action: string): Promise<number> => (await session.plane.op('audit.list', { action })).body.total as number;

  it('alerts: a rule with no data says so; acknowledge, silence, create with a preview, delete; every change in the history', async () => {
    const { page, plane } = session;
    await openView(session, 'Alerts');
    const firing = page.getByTestId('alert-rule-rss-seen');
    await firing.getByText('firing').waitFor();
    // A default rule whose series this node never had.
    await page.getByTestId('alerts-rules').getByText('no data').first().waitFor();

    await firing.getByRole('button', { name: 'Acknowledge' }).click();
    await firing.getByTestId('acknowledged').waitFor();

    const silence = await checkDialog(page, firing.getByRole('button', { name: 'Silence…' }), 'silence', session);
    await silence.getByLabel('For').selectOption({ label: '4 hours' });
    await silence.getByRole('button', { name: 'Silence' }).click();
    await firing.getByTestId('silenced').waitFor();

    const create = await checkDialog(page, page.getByRole('button', { name: 'New rule' }), 'rule', session);
    await create.getByLabel('Name').fill('Heap above a gigabyte');
    await create.getByLabel('Series').selectOption('system.heap_used_bytes');
    await create.getByLabel('Threshold').fill('1073741824');
    await create.getByTestId('rule-preview').waitFor();
    await create.getByRole('button', { name: 'Create rule' }).click();
    const made = page.getByTestId('alert-rule-heap-above-a-gigabyte');
    await made.waitFor();

    const confirm = await checkDialog(page, made.getByRole('button', { name: 'Delete' }), 'delete-rule', session);
    await confirm.getByRole('button', { name: 'Delete rule' }).click();
    await made.waitFor({ state: 'detached' });

    await page.getByTestId('alert-history').getByText('Memory in use').first().waitFor();
    // Filtered to one rule, the history holds that rule's changes only (the deleted rule's are gone from it).
    await page.getByLabel('Rule filter').selectOption({ label: 'Memory in use' });
    const rows = page.getByTestId('alert-history').locator('tbody tr');
    // The filtered list replaces the whole one when its read answers: every row names the rule then.
    await expect.poll(() => rows.filter({ hasNotText: 'Memory in use' }).count()).toBe(0);
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await page.getByTestId('alert-history').getByText('Heap above a gigabyte').count()).toBe(0);
    expect(await audited('monitoring.alerts.acknowledge')).toBe(1);
    expect(await audited('monitoring.alerts.silence')).toBe(1);
    expect(await audited('monitoring.alerts.save')).toBe(2);
    expect(await audited('monitoring.alerts.delete')).toBe(1);
    expect((await plane.op('monitoring.alerts')).body.rules.some((r: { id: string }) => r.id === 'heap-above-a-gigabyte')).toBe(false);
    await session.screenshot('view-alerts-levers');
    // The Overview's firing banner says who acknowledged it, by key name.
    await openView(session, 'Overview');
    await page.getByTestId('alerts-firing').getByTestId('alert-acknowledged').getByText('bootstrap admin').waitFor();
  });

  it('services: register an instance with a check, edit it, and deregister it after confirming', async () => {
    const { page, plane } = session;
    await openView(session, 'Services');
    const register = await checkDialog(page, page.getByRole('button', { name: 'Register a service' }), 'register-service', session);
    await register.getByLabel('Service name').fill('orders');
    await register.getByLabel('Port').fill('7411');
    await register.getByLabel('Version').fill('2.1.0');
    await register.getByRole('button', { name: 'Add a check' }).click();
    await register.getByLabel('Kind').selectOption('ttl');
    await register.getByLabel('Within (ms)').fill('60000');
    await register.getByRole('button', { name: 'Register' }).click();
    await register.waitFor({ state: 'detached' });
    const instance = (await plane.op('services.list', { name: 'orders' })).body.instances[0];
    expect(instance).toMatchObject({ port: 7411, version: '2.1.0' });
    expect(instance.checks[0].kind).toBe('ttl');

    const row = page.locator('tr', { hasText: instance.id });
    const edit = await checkDialog(page, row.getByRole('button', { name: 'Edit' }), 'edit-service', session);
    await edit.getByLabel('Port').fill('7412');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    expect((await plane.op('services.list', { name: 'orders' })).body.instances[0]).toMatchObject({ id: instance.id, port: 7412 });

    const confirm = await checkDialog(page, row.getByRole('button', { name: 'Deregister' }), 'deregister', session);
    await confirm.getByRole('button', { name: 'Deregister' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await audited('services.register')).toBe(2);
    expect(await audited('services.deregister')).toBe(1);
  });

  it(
    'backups: add a source under a backup root, edit its schedule, cancel its running snapshot, and remove it',
    async () => {
      const { page, plane } = session;
      const path = join(plane.dataDir, 'orders.db');
      const writer = makeDatabase(path);
      // One more snapshot than a page holds: the list shows the first page and the server's count, then the rest.
      for (let i = 0; i < 51; i += 1) await plane.plane.running.backup.snapshot('app');
      await openView(session, 'Backups');
      const count = page.getByTestId('backup-snapshots-count');
      await count.getByText('50 of 51 snapshots').waitFor();
      await count.getByRole('button', { name: 'Load more' }).click();
      await count.getByText('51 of 51 snapshots').waitFor();
      expect(await count.getByRole('button', { name: 'Load more' }).count()).toBe(0);
      const add = await checkDialog(page, page.getByRole('button', { name: 'Add a source' }), 'add-source', session);
      await add.getByTestId('backup-roots-hint').getByText(plane.dataDir).waitFor();
      await add.getByLabel('Name').fill('orders');
      await add.getByLabel('Path of the SQLite file').fill(path);
      await add.getByRole('button', { name: 'Add source' }).click();
      await add.waitFor({ state: 'detached' });
      const row = page.getByTestId('backup-sources').locator('tr', { hasText: 'orders' });
      await row.waitFor();

      const edit = await checkDialog(page, row.getByRole('button', { name: 'Edit' }), 'edit-source', session);
      await edit.getByLabel('Schedule (cron; empty: manual)').fill('30 3 * * *');
      await edit.getByRole('button', { name: 'Save' }).click();
      await row.getByText('30 3 * * *').waitFor();

      // A writer holds the file for the whole cancel, so the snapshot is still capturing when it is cancelled.
      writer.exec('BEGIN EXCLUSIVE');
      try {
        await row.getByRole('button', { name: 'Snapshot now' }).click();
        // The running snapshot, the confirm dialog and the history name the source, not its id.
        await page.getByTestId('backup-jobs').getByText('orders', { exact: true }).waitFor();
        const cancel = page.getByTestId('backup-jobs').getByRole('button', { name: 'Cancel' });
        await cancel.click();
        const confirm = page.getByRole('dialog');
        expect(await focusInside(confirm)).toBe(true);
        expect(await dialogViolations(page)).toEqual([]);
        await confirm.getByText(/The snapshot of orders stops/).waitFor();
        await confirm.getByRole('button', { name: 'Cancel snapshot' }).click();
        const cancelled = page.getByTestId('backup-cancelled');
        await cancelled.getByText('snapshot cancelled').waitFor({ timeout: 10_000 });
        await cancelled.getByText('orders', { exact: true }).waitFor();
        // By the key's name (an admin's console knows every key's).
        await cancelled.getByText('bootstrap admin').waitFor();
      } finally {
        writer.exec('COMMIT');
        writer.close();
      }
      // A deliberate cancel is a notice to the one who cancelled, not an error banner.
      await page
        .getByRole('status')
        .getByText(/You cancelled the snapshot of orders/)
        .waitFor();
      // "Snapshot now" is enabled again once its call has been answered (PH_BACKUP_CANCELLED).
      await expect.poll(() => row.getByRole('button', { name: 'Snapshot now' }).isEnabled(), { timeout: 10_000 }).toBe(true);
      expect(await page.locator('.error-banner').count()).toBe(0);
      const source = (await plane.op('backup.sources.list')).body.sources.find((s: { name: string }) => s.name === 'orders');
      expect((await plane.op('backup.snapshots.list', { sourceId: source.id })).body.total).toBe(0);

      const remove = await checkDialog(page, row.getByRole('button', { name: 'Remove' }), 'remove-source', session);
      await remove.getByRole('button', { name: 'Remove source' }).click();
      await row.waitFor({ state: 'detached' });
      expect(await audited('backup.snapshot.cancel')).toBe(1);
      expect(await audited('backup.sources.remove')).toBe(1);
    },
    // 51 snapshots of the app database are taken first (about 10 s on a loaded 2-core machine).
    60_000,
  );

  it('security: see and set a key’s scopes and tier, and revoke it after confirming', async () => {
    const { page, plane } = session;
    await openView(session, 'Security');
    await page.getByLabel('Name').fill('orders-service');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByLabel('Scopes').fill('jobs:read');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('button', { name: 'I have copied it' }).click();
    const row = page.getByTestId('keys-table').locator('tr', { hasText: 'orders-service' });
    await row.getByText('jobs:read').waitFor();
    const dialog = await checkDialog(page, row.getByRole('button', { name: 'Scopes and tier' }), 'key-scopes', session);
    await dialog.getByLabel(/Scopes/).fill('jobs:read cache:write');
    await dialog.getByLabel('Rate-limit tier').selectOption({ index: 1 });
    const tier = await dialog.getByLabel('Rate-limit tier').inputValue();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await row.getByText('jobs:read cache:write').waitFor();
    await row.getByText(tier, { exact: true }).waitFor();

    // The dialogs keep their contrast in the light theme too.
    await page.emulateMedia({ colorScheme: 'light' });
    await row.getByRole('button', { name: 'Scopes and tier' }).click();
    expect(await dialogViolations(page)).toEqual([]);
    await session.screenshot('dialog-key-scopes-light');
    await page.keyboard.press('Escape');
    await page.emulateMedia({ colorScheme: 'dark' });

    const revoke = await checkDialog(page, row.getByRole('button', { name: 'Revoke' }), 'revoke-key', session);
    await revoke.getByRole('button', { name: 'Revoke key' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await audited('keys.update')).toBe(1);
    expect(await audited('ratelimit.keys.assign')).toBe(1);
    const key = (await plane.op('keys.list', { includeRevoked: true })).body.keys.find(
      (k: { name: string }) => k.name === 'orders-service',
    );
    expect(key).toMatchObject({ scopes: ['jobs:read', 'cache:write'], revokedAt: expect.any(String) });
  });

  it('webhooks: the delivery log counts from the server, and removing an endpoint asks in the page first', async () => {
    const { page, plane } = session;
    const endpoint = (await plane.op('webhooks.create', { url: rx.url, eventTypes: ['webhook.ping'] })).body.endpoint;
    await plane.op('webhooks.test', { id: endpoint.id });
    await openView(session, 'Webhooks');
    await page.getByTestId('webhook-deliveries-count').getByText('1 of 1 deliveries').waitFor();
    const row = page.getByTestId(`endpoint-${rx.url}`);
    const confirm = await checkDialog(page, row.getByRole('button', { name: 'Remove' }), 'remove-endpoint', session);
    await confirm.getByRole('button', { name: 'Remove endpoint' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await audited('webhooks.delete')).toBe(1);
  });
});
