import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, seedLedgerSnapshot, signIn, type ConsoleSession } from './harness';

describe('the Backups view when the repository lost a file', () => {
  let session: ConsoleSession;
  beforeAll(async () => {
    session = await openConsole();
    await seedLedgerSnapshot(session.plane, 2000);
    await signIn(session);
  }, 60_000);
  afterAll(async () => {
    await session?.close();
  });

  it('says the repository needs attention, with the code and what to do, where the Overview alone said so', async () => {
    const { page, plane } = session;
    const packs = join(plane.dataDir, 'backups', 'packs');
    for (const pack of readdirSync(packs).filter((n) => n.endsWith('.pack'))) rmSync(join(packs, pack));
    // The next snapshot checks the packs first and finds the loss.
    const ledger = (await plane.op('backup.sources.list')).body.sources.find((s: { name: string }) => s.name === 'ledger');
    expect((await plane.op('backup.snapshot', { id: ledger.id })).status).toBe(200);
    await openView(session, 'Backups');
    const banner = page.getByTestId('backup-degraded');
    await banner.getByText('PH_BACKUP_DAMAGED', { exact: false }).waitFor();
    expect(await banner.textContent()).toMatch(/replica|prune/);
  });
});
