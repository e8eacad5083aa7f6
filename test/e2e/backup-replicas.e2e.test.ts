import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, seedLedgerSnapshot, signIn, type ConsoleSession } from './harness';
import { noticesSplittingText } from './layout-check';

describe('Backup replicas in the console', () => {
  let session: ConsoleSession;
  let drive: string;

  beforeAll(async () => {
    session = await openConsole();
    await seedLedgerSnapshot(session.plane, 3000);
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
  });

  it('adds a folder replica, syncs and verifies it, and fetches a lost snapshot back from it', async () => {
    const { page } = session;
    drive = join(session.plane.dataDir, 'usb-drive');
    mkdirSync(drive);
    await openView(session, 'Backups');
    await page.getByLabel(/Folder replica/).fill(drive);
    await page.getByRole('button', { name: 'Add replica' }).click();
    const table = page.getByTestId('backup-replicas');
    const row = table.locator('tr', { hasText: drive });
    await row.waitFor();
    await row.getByText('new').waitFor();

    await row.getByRole('button', { name: 'Sync now' }).click();
    await row.getByText('up to date').waitFor({ timeout: 30_000 });
    await row.getByText('ok', { exact: true }).waitFor();

    await row.getByRole('button', { name: 'Verify' }).click();
    await row.getByText('passing').waitFor({ timeout: 30_000 });
    await session.screenshot('backups-replicas');

    // A snapshot's manifest is lost locally; the replica still has it.
    const snapshots = (await session.plane.op('backup.snapshots.list', {})).body.snapshots as { id: string; sourceName: string }[];
    const lost = snapshots.find((s) => s.sourceName === 'ledger')?.id as string;
    rmSync(join(session.plane.dataDir, 'backups', 'snapshots', `${lost}.snap`));
    await row.getByRole('button', { name: 'Restore from this replica…' }).click();
    const question = page.getByRole('alertdialog', { name: 'Restore from replica' });
    await question.waitFor();
    expect(await noticesSplittingText(page)).toEqual([]);
    await question.getByRole('button', { name: 'Fetch from replica' }).click();
    await page
      .getByRole('status')
      .getByText(/1 snapshots and 0 packs/)
      .waitFor({ timeout: 30_000 });
    const verify = await session.plane.op('backup.verify', { id: lost });
    expect(verify.body.verification).toMatchObject({ ok: true });
  });
});
