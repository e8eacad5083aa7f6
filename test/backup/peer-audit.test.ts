import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { peerRequest } from './replicas/peer-requests';

interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: string | null;
}

/**
 * The receiving side of a peer replica writes to its own disk, so its own audit trail records each
 * file: who sent it (the key, and the signed sender node), which file of which sender's repository,
 * and how many bytes.
 */
describe('a node keeping a peer replica audits what it receives', () => {
  let b: TestPlane;
  beforeAll(async () => {
    b = await startTestPlane({ fleetSecret: TEST_FLEET_SECRET, backup: { peerSenders: ['node-a'] } });
  });
  afterAll(async () => {
    await b?.stop();
  });

  const peerRows = async (): Promise<AuditRow[]> =>
    ((await b.op('audit.list', { limit: 50 })).body.entries as AuditRow[]).filter((e) => e.action.startsWith('backup.peer.'));

  it('records a stored file with the key, the sending node, the file and its bytes, and its removal', async () => {
    const base = { url: b.url, admin: b.adminKey, to: b.plane.nodeId };
    const actor = b.plane.running.keys.verify(b.adminKey)?.actor;
    expect(actor).toMatch(/^key:/);
    const body = Buffer.alloc(3000, 7);
    const stored = await peerRequest({ ...base, method: 'PUT', name: 'snapshots/snap-1.snap', body });
    expect(stored.status).toBe(200);
    expect(await peerRows()).toEqual([
      expect.objectContaining({
        actor,
        action: 'backup.peer.receive',
        target: 'peer-replicas/node-a/snapshots/snap-1.snap',
        outcome: 'ok',
        detail: 'from node node-a: 3000 bytes received',
      }),
    ]);

    expect((await peerRequest({ ...base, method: 'DELETE', name: 'snapshots/snap-1.snap' })).status).toBe(200);
    expect((await peerRows())[0]).toMatchObject({
      actor,
      action: 'backup.peer.remove',
      target: 'peer-replicas/node-a/snapshots/snap-1.snap',
      outcome: 'ok',
    });
  });

  it('records a store refused after the sender was admitted (a body other than the one signed), and nothing for a stranger', async () => {
    const base = { url: b.url, admin: b.adminKey, to: b.plane.nodeId };
    const before = (await peerRows()).length;
    const tampered = await peerRequest({ ...base, method: 'PUT', name: 'packs/p1.pack', body: Buffer.alloc(100, 1), tamper: true });
    expect(tampered.code).toBe('PH_BACKUP_PEER_UNSIGNED');
    const stranger = await peerRequest({ ...base, from: 'node-evil', method: 'PUT', name: 'packs/p2.pack', body: Buffer.alloc(10) });
    expect(stranger.code).toBe('PH_BACKUP_PEER_REFUSED');
    const rows = await peerRows();
    expect(rows.slice(0, rows.length - before)).toEqual([
      expect.objectContaining({
        action: 'backup.peer.receive',
        target: 'peer-replicas/node-a/packs/p1.pack',
        outcome: 'error',
        detail: 'from node node-a: refused (PH_BACKUP_PEER_UNSIGNED)',
      }),
    ]);
  });
});
