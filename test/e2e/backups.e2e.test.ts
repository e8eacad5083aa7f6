import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

/** A database big enough (about 20 MiB) that a snapshot runs long enough to watch its progress bar. */
function makeDatabase(path: string, rows: number): void {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  db.exec(
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) INSERT INTO items (body) SELECT hex(randomblob(400)) FROM c`,
  );
  db.close();
}

describe('Backups view in Chromium', () => {
  let session: ConsoleSession;
  let dbPath: string;

  beforeAll(async () => {
    session = await openConsole();
    dbPath = join(session.plane.dataDir, 'inventory.db');
    makeDatabase(dbPath, 25_000);
    const reg = await session.plane.op('backup.sources.register', {
      name: 'inventory',
      path: dbPath,
      schedule: '0 2 * * *',
      retention: { keepDaily: 7 },
    });
    expect(reg.status).toBe(200);
    expect((await session.plane.op('backup.snapshot', { id: reg.body.source.id })).status).toBe(200);
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
  });

  it('shows sources and snapshots, and a progress bar while a snapshot runs', async () => {
    const { page } = session;
    await openView(session, 'Backups');
    const sources = page.getByTestId('backup-sources');
    await sources.getByText('inventory').first().waitFor();
    await sources.getByText('Pilothouse database').waitFor();
    await page.getByTestId('backup-snapshots').getByText('inventory').first().waitFor();
    await sources.locator('tr', { hasText: 'inventory' }).getByRole('button', { name: 'Snapshot now' }).click();
    await page.getByTestId('backup-jobs').getByRole('progressbar').first().waitFor();
    await session.screenshot('backups-progress');
    await page.getByTestId('backup-jobs').waitFor({ state: 'detached', timeout: 60_000 });
    await expect.poll(async () => page.getByTestId('backup-snapshots').locator('tr', { hasText: 'inventory' }).count()).toBe(2);
  });

  it('verifies a snapshot and shows the result in the verification history', async () => {
    const { page } = session;
    await page
      .getByTestId('backup-snapshots')
      .locator('tr', { hasText: 'inventory' })
      .first()
      .getByRole('button', { name: 'Verify' })
      .click();
    const history = page.getByTestId('backup-verifications');
    await history.getByText('passing').first().waitFor({ timeout: 60_000 });
    await expect.poll(() => history.getByText('matches').first().textContent(), { timeout: 10_000 }).toBe('matches');
  });

  it('restores to a new file only after showing the plan and being confirmed', async () => {
    const { page } = session;
    const target = join(session.plane.dataDir, 'inventory-restored.db');
    await page
      .getByTestId('backup-snapshots')
      .locator('tr', { hasText: 'inventory' })
      .last()
      .getByRole('button', { name: 'Restore…' })
      .click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Target path').fill(target);
    const plan = page.getByTestId('restore-plan');
    await plan.getByText('Safety snapshot first').waitFor();
    expect(await dialog.getByRole('button', { name: 'Restore' }).isDisabled()).toBe(true);
    await plan.getByLabel(/I understand/).check();
    await session.screenshot('backups-restore-dialog');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await page
      .getByRole('status')
      .getByText(/Restored snap-/)
      .waitFor({ timeout: 60_000 });
    expect(existsSync(target)).toBe(true);
    const restored = new BetterSqlite3(target, { readonly: true });
    expect((restored.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n).toBe(25_000);
    restored.close();
    await page.getByTestId('backup-history').getByText('restore to new file').waitFor();
    await session.screenshot('backups');
  });

  it("drops the add-source dialog's path error once the path is edited, before anything is sent again", async () => {
    const { page } = session;
    await openView(session, 'Backups');
    await page.getByRole('button', { name: 'Add a source' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('outside');
    await dialog.getByLabel('Path of the SQLite file').fill('/etc/outside-the-roots.db');
    await dialog.getByRole('button', { name: 'Add source' }).click();
    const banner = dialog.getByRole('alert').filter({ hasText: 'PH_BACKUP_PATH_REFUSED' });
    await banner.waitFor();
    await dialog.getByLabel('Name').fill('');
    await dialog.getByLabel('Path of the SQLite file').fill(dbPath);
    expect(await banner.count()).toBe(0);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });
});
