import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless, type HeadlessNode } from '../faults/headless';
import { digestRows } from './backup-fixture';
import { makeMarkedDatabase } from './encryption/repo-harness';
import { peerRequest } from './replicas/peer-requests';

/** Node B, a real `npm run serve` process that keeps node A's replica; started again on its port after a kill. */
async function startB(dataDir: string, port?: number): Promise<HeadlessNode> {
  const node = await launchHeadless(
    dataDir,
    ['--config', join(dataDir, 'config.json')],
    { PILOTHOUSE_FLEET_SECRET: TEST_FLEET_SECRET },
    null,
    undefined,
    port,
  );
  await node.running();
  return node;
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0x5a;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

/** Every file of a replica folder, name → size (partial uploads included, to be sure none is left). */
function filesIn(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const sub of ['packs', 'snapshots']) {
    for (const n of readdirSync(join(dir, sub))) out.set(`${sub}/${n}`, statSync(join(dir, sub, n)).size);
  }
  return out;
}

describe('a peer replica: another Pilothouse node of the fleet', () => {
  const dirA = tempDir('ph-peer-a-');
  const dirB = tempDir('ph-peer-b-');
  let a: TestPlane | null = null;
  let b: HeadlessNode | null = null;
  const startA = () => startTestPlane({ dataDir: dirA.path, fleetSecret: TEST_FLEET_SECRET }, { backup: { packTargetBytes: 256 * 1024 } });

  afterAll(async () => {
    await a?.plane.stop().catch(() => undefined);
    await b?.kill('SIGTERM');
    dirA.remove();
    dirB.remove();
  });

  it('keeps only signed files of allowed senders in their own folder, never a path the sender names', async () => {
    writeFileSync(join(dirA.path, 'node.id'), 'node-a\n');
    writeFileSync(join(dirB.path, 'node.id'), 'node-b\n');
    writeFileSync(join(dirB.path, 'config.json'), JSON.stringify({ backup: { peerSenders: ['node-a'] } }));
    b = await startB(dirB.path);
    a = await startA();
    const admin = b.adminKey();
    const operator = (await b.op('keys.create', { name: 'low', role: 'operator' })).body.secret as string;
    const base = { url: b.url, admin, to: 'node-b' };

    // The real sender, signed: it lands in node-a's folder.
    const ok = await peerRequest({ ...base, method: 'PUT', name: 'repository.json', body: Buffer.from('{}') });
    expect(ok.status).toBe(200);
    expect(readFileSync(join(dirB.path, 'peer-replicas', 'node-a', 'repository.json'), 'utf8')).toBe('{}');

    const refused = async (req: Partial<Parameters<typeof peerRequest>[0]>, status: number, code: string) => {
      const res = await peerRequest({ ...base, method: 'PUT', name: 'snapshots/evil.snap', body: Buffer.from('x'), ...req });
      expect({ status: res.status, code: res.code }, JSON.stringify(req.name ?? req)).toEqual({ status, code });
    };
    await refused({ unsigned: true }, 401, 'PH_BACKUP_PEER_UNSIGNED');
    await refused({ secret: 'another-fleet-secret-0123456789abcdef' }, 401, 'PH_BACKUP_PEER_UNSIGNED');
    await refused({ at: Date.now() - 120_000 }, 401, 'PH_BACKUP_PEER_UNSIGNED');
    await refused({ to: 'node-c' }, 401, 'PH_BACKUP_PEER_UNSIGNED'); // signed for another node
    await refused({ tamper: true }, 401, 'PH_BACKUP_PEER_UNSIGNED'); // the body is not the one signed
    await refused({ admin: operator }, 403, 'PH_FORBIDDEN');
    await refused({ admin: null }, 401, 'PH_UNAUTHENTICATED');
    await refused({ from: 'node-evil' }, 403, 'PH_BACKUP_PEER_REFUSED');
    await refused({ from: '../../secrets' }, 401, 'PH_BACKUP_PEER_UNSIGNED'); // not a node id at all
    for (const name of [
      '../../admin.key',
      'packs/../../../node.id',
      'snapshots/%2e%2e%2f%2e%2e%2fevil.snap',
      'packs/x.pack/../../y.idx',
      'secrets/k',
    ])
      await refused({ name }, 400, 'PH_INVALID_INPUT');
    expect(readFileSync(join(dirB.path, 'node.id'), 'utf8')).toBe('node-b\n');
    expect(readFileSync(join(dirB.path, 'admin.key'), 'utf8').trim()).toBe(admin);
    const kept = readdirSync(join(dirB.path, 'peer-replicas'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(kept.map((e) => join(e.parentPath, e.name))).toEqual([join(dirB.path, 'peer-replicas', 'node-a', 'repository.json')]);

    // Through the operation: an operator key of B, a URL that is A itself, and a stranger's key are refused.
    const add = { name: 'node b', kind: 'peer', url: b.url };
    expect(await a.op('backup.replicas.add', { ...add, apiKey: operator })).toMatchObject({
      status: 400,
      body: { error: { code: 'PH_BACKUP_REPLICA_REFUSED' } },
    });
    expect(await a.op('backup.replicas.add', { ...add, url: a.url, apiKey: admin })).toMatchObject({
      status: 400,
      body: { error: { code: 'PH_BACKUP_REPLICA_REFUSED' } },
    });
    expect(await a.op('backup.replicas.add', { ...add, node: 'node-z', apiKey: admin })).toMatchObject({
      status: 400,
      body: { error: { code: 'PH_BACKUP_REPLICA_REFUSED' } },
    });
    expect((await a.op('backup.replicas.list')).body.replicas).toEqual([]);
    rmSync(join(dirB.path, 'peer-replicas', 'node-a'), { recursive: true });
  }, 120_000);

  it('resumes after the peer is killed mid-transfer, repairs a corrupted page from the local copy, and rebuilds a deleted repository', async () => {
    if (a === null || b === null) throw new Error('the first test starts both nodes');
    const src = join(dirA.path, 'orders.db');
    const { db } = makeMarkedDatabase(src, 2000);
    const source = (await a.op('backup.sources.register', { name: 'orders', path: src })).body.source.id as string;
    await a.op('backup.snapshot', { id: source });
    db.prepare('UPDATE t SET v = randomblob(4000) WHERE id % 7 = 0').run();
    db.close();
    const snapshotId = (await a.op('backup.snapshot', { id: source })).body.snapshot.id as string;
    const added = await a.op('backup.replicas.add', { name: 'node b', kind: 'peer', url: b.url, apiKey: b.adminKey() });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    // Named by its URL, the peer is pinned to the node that answered.
    expect(added.body.replica).toMatchObject({ kind: 'peer', state: 'new', target: `node-b at ${b.url}` });
    const id = added.body.replica.id as string;
    const backup = a.plane.running.backup;
    const repoBytes = backup.repositoryStats().storedBytes;

    // ── B is killed (SIGKILL) part way through the first copy, then started again on its port ──
    const first = backup.replicas.sync(id);
    first.catch(() => undefined);
    while (!((backup.replicas.list()[0]?.transfer?.done ?? 0) > 0)) await new Promise((r) => setImmediate(r));
    const port = b.port;
    await b.kill('SIGKILL');
    await expect(first).rejects.toBeDefined();
    const broken = backup.replicas.list()[0];
    expect(broken?.state).toBe('failed');
    expect(broken?.lagSnapshots).toBeGreaterThan(0);
    const sentBefore = broken?.bytesSent ?? 0;
    expect(sentBefore).toBeGreaterThan(0);
    b = await startB(dirB.path, port);
    const resumed = (await a.op('backup.replicas.sync', { id })).body.replica;
    expect(resumed).toMatchObject({ state: 'ok', lagSnapshots: 0, lagBytes: 0 });
    expect(resumed.bytesSent - sentBefore).toBeLessThan(repoBytes);
    // Exactly the local files, each whole: no page missing, none twice, no half file left by the kill.
    const folder = join(dirB.path, 'peer-replicas', 'node-a');
    const packs = backup.repo.db.prepare('SELECT id, bytes FROM packs').all() as { id: string; bytes: number }[];
    expect(packs.length).toBeGreaterThan(2);
    const expected = new Map<string, number>(packs.map((p) => [`packs/${p.id}.pack`, p.bytes]));
    const held = filesIn(folder);
    for (const [name, size] of expected) expect(held.get(name), name).toBe(size);
    expect([...held.keys()].sort()).toEqual(
      [
        ...expected.keys(),
        ...packs.map((p) => `packs/${p.id}.idx`),
        ...backup.repo.listManifests().map((m) => `snapshots/${m.id}.snap`),
      ].sort(),
    );
    const pages = backup.repositoryStats().pages;
    expect(await a.op('backup.replicas.verify', { id, samplePages: pages })).toMatchObject({
      status: 200,
      body: { pagesChecked: pages, damaged: [] },
    });

    // ── a page corrupted on B is found by verification and sent again from A's copy ──
    const row = backup.repo.db.prepare('SELECT pack, offset, length FROM pages ORDER BY pack, offset LIMIT 1').get() as {
      pack: string;
      offset: number;
      length: number;
    };
    flipByte(join(folder, 'packs', `${row.pack}.pack`), row.offset + Math.floor(row.length / 2));
    const found = (await a.op('backup.replicas.verify', { id, samplePages: pages })).body;
    expect(found.damaged).toEqual([`packs/${row.pack}.pack`]);
    expect(found.repaired).toEqual([`packs/${row.pack}.pack`]);
    expect((await a.op('backup.replicas.verify', { id, samplePages: pages })).body.damaged).toEqual([]);
    expect((await a.op('backup.replicas.list')).body.replicas[0]).toMatchObject({ lastVerifyOk: true });

    // ── A's repository is deleted: everything comes back from B ──
    const manifests = backup.repo.listManifests().length;
    await a.plane.stop();
    rmSync(join(dirA.path, 'backups'), { recursive: true, force: true });
    a = await startA();
    const pulled = await a.op('backup.replicas.restore', { id });
    expect(pulled).toMatchObject({ status: 200, body: { snapshots: manifests, packs: packs.length } });
    const out = join(dirA.path, 'restored', 'orders.db');
    mkdirSync(join(dirA.path, 'restored'));
    expect((await a.op('backup.restore', { snapshotId, targetPath: out })).status).toBe(200);
    const restored = new BetterSqlite3(out, { readonly: true });
    expect(restored.pragma('integrity_check', { simple: true })).toBe('ok');
    restored.close();
    expect(digestRows(out)).toBe(digestRows(src));
  }, 240_000);
});
