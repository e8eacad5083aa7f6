import { closeSync, existsSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { digestRows } from './backup-fixture';
import { makeMarkedDatabase, openService, type Opened } from './encryption/repo-harness';
import { S3Target, SshTarget } from './replicas/targets';

interface Target {
  readonly input: Record<string, unknown> & { kind: 'folder' | 's3' | 'sftp' };
  /** Where the replica's bytes end up on this machine, to corrupt one. */
  readonly filesDir: string;
  down(): Promise<void>;
  up(): Promise<void>;
}

/** A folder "goes down" as an unplugged drive does: the folder is gone, then back. */
function folderTarget(dir: string): Target {
  const path = join(dir, 'replica');
  return {
    input: { kind: 'folder', path },
    filesDir: path,
    down: async () => renameSync(path, `${path}.unplugged`),
    up: async () => renameSync(`${path}.unplugged`, path),
  };
}

const targets: Record<'folder' | 's3' | 'sftp', (dir: string) => Promise<Target>> = {
  folder: async (dir) => {
    const t = folderTarget(dir);
    await import('node:fs').then((fs) => fs.mkdirSync(t.filesDir));
    return t;
  },
  s3: async (dir) => {
    const s3 = await S3Target.start(join(dir, 's3'));
    return { input: s3.input, filesDir: s3.dir, down: () => s3.down(), up: () => s3.up() };
  },
  sftp: async (dir) => {
    const ssh = await SshTarget.start(join(dir, 'ssh'));
    return { input: ssh.input, filesDir: ssh.root, down: () => ssh.down(), up: () => ssh.up() };
  },
};

/** The file on the target's disk that holds `packId`'s pack (s3rver keeps an object as a file named after its key). */
function replicaPackFile(dir: string, packId: string): string {
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.startsWith(`${packId}.pack`) && !e.name.includes('metadata')) return join(e.parentPath, e.name);
  }
  throw new Error(`no replica file for pack ${packId}`);
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

describe.each(['folder', 's3', 'sftp'] as const)('a %s replica', (kind) => {
  const dir = tempDir(`ph-replica-${kind}-`);
  let target: Target | null = null;
  let opened: Opened | null = null;
  afterAll(async () => {
    await opened?.stop().catch(() => undefined);
    await target?.down().catch(() => undefined);
    dir.remove();
  });

  it('resumes after the target dies mid-transfer, finds and repairs a corrupted page, and rebuilds a deleted repository', async () => {
    const t = await targets[kind](dir.path);
    target = t;
    const src = join(dir.path, 'src.db');
    const { db } = makeMarkedDatabase(src, 500);
    const options = { packTargetBytes: 256 * 1024 };
    opened = await openService(dir.path, options);
    const service = opened.service;
    const source = service.registerSource({ name: 'src', path: src });
    await service.snapshot(source.id);
    const replica = await service.replicas.add({ name: `${kind}-replica`, ...t.input });
    expect(replica.state).toBe('new');
    const repoBytes = service.repositoryStats().storedBytes;

    // ── the target dies part way through the first copy, and comes back ──
    const first = service.replicas.sync(replica.id);
    first.catch(() => undefined);
    while (!((service.replicas.list()[0]?.transfer?.done ?? 0) > 0)) await new Promise((r) => setImmediate(r));
    await t.down();
    await expect(first).rejects.toBeDefined();
    const broken = service.replicas.list()[0];
    expect(broken?.state).toBe('failed');
    expect(broken?.lagSnapshots).toBe(1);
    const sentBefore = broken?.bytesSent ?? 0;
    expect(sentBefore).toBeGreaterThan(0);
    await t.up();
    const resumed = await service.replicas.sync(replica.id);
    expect(resumed).toMatchObject({ state: 'ok', lagSnapshots: 0, lagBytes: 0 });
    // Only what had not arrived was sent again: less than the whole repository a second time.
    expect(resumed.bytesSent - sentBefore).toBeLessThan(repoBytes);
    const pages = service.repositoryStats().pages;
    const full = await service.replicas.verify(replica.id, pages);
    expect(full).toMatchObject({ pagesChecked: pages, damaged: [] });

    // ── a page corrupted on the replica is found, and sent again from the local copy ──
    const row = service.repo.db.prepare('SELECT pack, offset, length FROM pages ORDER BY pack, offset LIMIT 1').get() as {
      pack: string;
      offset: number;
      length: number;
    };
    flipByte(replicaPackFile(t.filesDir, row.pack), row.offset + Math.floor(row.length / 2));
    const found = await service.replicas.verify(replica.id, pages);
    expect(found.damaged).toEqual([`packs/${row.pack}.pack`]);
    expect(found.repaired).toEqual([`packs/${row.pack}.pack`]);
    expect((await service.replicas.verify(replica.id, pages)).damaged).toEqual([]);

    // ── a snapshot after a change reaches the replica by itself ──
    db.prepare('UPDATE t SET v = randomblob(4000) WHERE id % 20 = 0').run();
    db.close();
    const s2 = await service.snapshot(source.id);
    const expected = digestRows(src);
    await service.replicas.sync(replica.id); // waits for the push the snapshot started
    expect(service.replicas.list()[0]).toMatchObject({ state: 'ok', lagSnapshots: 0 });

    // ── the local repository is lost: everything comes back from the replica ──
    await opened.stop();
    opened = null;
    rmSync(join(dir.path, 'repo'), { recursive: true, force: true });
    opened = await openService(dir.path, options);
    // The catalogue still lists them, as damaged (their manifests are gone), and the service says so.
    expect(opened.service.listSnapshots().map((s) => s.lastVerification?.ok)).toEqual([false, false]);
    expect(opened.service.status().state).toBe('degraded');
    const pulled = await opened.service.replicas.restoreFrom(replica.id);
    expect(pulled.snapshots).toBe(2);
    expect(opened.service.status().state).toBe('running');
    expect(opened.service.listSnapshots().map((s) => s.id)).toContain(s2.id);
    const out = join(dir.path, 'from-replica.db');
    const restore = await opened.service.restore({ snapshotId: s2.id, targetPath: out });
    expect(restore.ok).toBe(true); // restore proves every page, the image hash and integrity_check
    expect(existsSync(out) && statSync(out).size).toBeGreaterThan(0);
    expect(digestRows(out)).toBe(expected);
    // The rebuilt repository is the replica's again: a sync finds nothing to send.
    const after = await opened.service.replicas.sync(replica.id);
    expect(after.state).toBe('ok');
  }, 120_000);
});
