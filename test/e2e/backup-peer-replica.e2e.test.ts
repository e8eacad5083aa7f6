import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { openConsole, openView, seedLedgerSnapshot, signIn, type ConsoleSession } from './harness';

describe('A peer replica in the console', () => {
  let session: ConsoleSession;
  let peer: TestPlane;

  beforeAll(async () => {
    session = await openConsole({ fleetSecret: TEST_FLEET_SECRET });
    // The other node keeps replicas for this one only.
    peer = await startTestPlane({ fleetSecret: TEST_FLEET_SECRET, backup: { peerSenders: [session.plane.plane.nodeId] } });
    await seedLedgerSnapshot(session.plane, 2000);
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
    await peer?.stop();
  });

  it('adds another node as a replica from the form, pinned to its node id, and syncs and verifies it like any other', async () => {
    const { page } = session;
    await openView(session, 'Backups');
    await page.getByLabel('Kind').selectOption('peer');
    await page.getByLabel('Node URL').fill(peer.url);
    const key = page.getByLabel('Admin API key of that node');
    expect(await key.getAttribute('type')).toBe('password');
    await key.fill(peer.adminKey);
    await page.getByRole('button', { name: 'Add replica' }).click();
    const row = page.getByTestId('backup-replicas').locator('tr', { hasText: `${peer.plane.nodeId} at ${peer.url}` });
    await row.waitFor();
    await row.getByText('peer:').waitFor();

    await row.getByRole('button', { name: 'Sync now' }).click();
    await row.getByText('up to date').waitFor({ timeout: 30_000 });
    await row.getByText('ok', { exact: true }).waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Verify' }).click();
    await row.getByText('passing').waitFor({ timeout: 30_000 });
    // Pages read back from the other node, opened and hashed here.
    await row.getByText(/64 pages and 1 manifests sound/).waitFor();
    await session.screenshot('backups-peer-replica');
    // The key stays in the sender's secret file: never shown back.
    expect(await page.content()).not.toContain(peer.adminKey);
  });
});
