import { existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PhError } from '../../contract/errors';
import { fsyncDir, writeFileAtomic } from './fs-durable';
import { lostPacks, packFound } from './lost-packs';
import { MANIFEST_MISSING, type PageRepository } from './page-repository';
import { setMeta } from './repo-format';
import type { ReplicaTransport } from './replica-transport';

/** What a replica's `repository.json` says: whose repository it holds, under which key. */
interface ReplicaMeta {
  readonly repoId: string;
  readonly keyId: string | null;
  readonly format: string;
}

export interface LocalFile {
  readonly size: number;
  /** Where the bytes come from: a file, or (pack index) bytes built from index.db. */
  readonly path: string | null;
  readonly bytes: () => Buffer;
}

const ROW = 32 + 6 + 4 + 1;

/** A pack's index rows as the replica keeps them beside the pack: hash, offset (48 bit), length, codec. */
function packIndex(repo: PageRepository, pack: string): Buffer {
  const rows = repo.db.prepare('SELECT hash, offset, length, codec FROM pages WHERE pack = ? ORDER BY offset').all(pack) as {
    hash: Buffer;
    offset: number;
    length: number;
    codec: number;
  }[];
  const out = Buffer.alloc(rows.length * ROW);
  rows.forEach((r, i) => {
    r.hash.copy(out, i * ROW);
    out.writeUIntBE(r.offset, i * ROW + 32, 6);
    out.writeUInt32BE(r.length, i * ROW + 38);
    out.writeUInt8(r.codec, i * ROW + 42);
  });
  return out;
}

function parseIndex(bytes: Buffer): { hash: Buffer; offset: number; length: number; codec: number }[] {
  if (bytes.length % ROW !== 0) throw new Error('a pack index of the wrong length');
  const out = [];
  for (let at = 0; at < bytes.length; at += ROW)
    out.push({
      hash: Buffer.from(bytes.subarray(at, at + 32)),
      offset: bytes.readUIntBE(at + 32, 6),
      length: bytes.readUInt32BE(at + 38),
      codec: bytes.readUInt8(at + 42),
    });
  return out;
}

/** What the replica should hold: every pack with its index, every manifest. The index is built lazily (and its size up front). */
export function localFiles(repo: PageRepository): Map<string, LocalFile> {
  const out = new Map<string, LocalFile>();
  const packs = repo.db.prepare('SELECT p.id, p.bytes, (SELECT count(*) FROM pages WHERE pack = p.id) AS n FROM packs p').all() as {
    id: string;
    bytes: number;
    n: number;
  }[];
  for (const p of packs) {
    out.set(`packs/${p.id}.pack`, { size: p.bytes, path: repo.packPath(p.id), bytes: () => Buffer.alloc(0) });
    out.set(`packs/${p.id}.idx`, { size: p.n * ROW, path: null, bytes: () => packIndex(repo, p.id) });
  }
  for (const h of repo.listManifests()) {
    const path = join(repo.snapshotsDir, `${h.id}.snap`);
    out.set(`snapshots/${h.id}.snap`, { size: -1, path, bytes: () => Buffer.alloc(0) });
  }
  return out;
}

/**
 * Fills in manifest sizes (a stat each), so the comparison with the replica's listing is by size. A
 * manifest whose file is gone is left out, and marked missing in the repository (listed as damaged)
 * unless a prune removed it meanwhile.
 */
export async function sized(repo: PageRepository, files: Map<string, LocalFile>): Promise<Map<string, LocalFile>> {
  for (const [name, f] of files) {
    if (f.size >= 0 || f.path === null) continue;
    try {
      files.set(name, { ...f, size: (await stat(f.path)).size });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Still listed: lost, not pruned meanwhile (prune drops the header with the file).
      const id = name.slice('snapshots/'.length, -'.snap'.length);
      if (repo.header(id) !== undefined) repo.markMissing(id);
      files.delete(name);
    }
  }
  return files;
}

/**
 * Files the local repository lost (packs, manifests): a replica's copy of them may be the only one
 * left, so a push never removes it; a restore from the replica brings them back.
 */
function lostNames(repo: PageRepository): Set<string> {
  return new Set([
    ...lostPacks(repo.db).flatMap((l) => [`packs/${l.id}.pack`, `packs/${l.id}.idx`]),
    ...repo
      .damaged()
      .filter((d) => d.error === MANIFEST_MISSING)
      .map((d) => `snapshots/${d.id}.snap`),
  ]);
}

export interface Lag {
  readonly snapshots: number;
  readonly bytes: number;
}

/** Snapshots and bytes the replica lacks, against its last listing. */
export function lagOf(local: Map<string, LocalFile>, remote: Map<string, number>): Lag {
  let snapshots = 0;
  let bytes = 0;
  for (const [name, f] of local) {
    if (remote.get(name) === f.size) continue;
    bytes += Math.max(0, f.size);
    if (name.startsWith('snapshots/')) snapshots += 1;
  }
  return { snapshots, bytes };
}

async function readMeta(t: ReplicaTransport): Promise<ReplicaMeta | null> {
  const raw = await t.getBytes('repository.json');
  return raw === null ? null : (JSON.parse(raw.toString('utf8')) as ReplicaMeta);
}

export interface PushResult {
  readonly filesSent: number;
  readonly bytesSent: number;
  readonly removed: number;
  readonly remote: Map<string, number>;
  readonly local: Map<string, LocalFile>;
}

/**
 * Sends what the replica lacks: packs (each followed by its index, which marks it complete; up to the
 * transport's `concurrency` packs at once), then
 * manifests, so a manifest is never on the replica before its pages; then removes what the local
 * repository no longer has (pruned). Each file is whole or absent on the replica, so an interrupted
 * push resumes at the next file, and one sent twice replaces itself: never a duplicate page.
 * A replica holding another repository is refused, never overwritten.
 */
export async function pushReplica(
  repo: PageRepository,
  t: ReplicaTransport,
  onProgress: (sent: number, total: number) => void = () => undefined,
  /** Filled with the replica's listing, then kept up to date file by file: after a failure, what did arrive. */
  remote: Map<string, number> = new Map(),
): Promise<PushResult> {
  const meta = await readMeta(t);
  if (meta !== null && meta.repoId !== repo.repoId)
    throw new PhError(
      'PH_BACKUP_REPLICA_FOREIGN',
      `The replica holds repository ${meta.repoId}, not this node's ${repo.repoId}: restore from it, or remove it`,
    );
  if (meta === null || meta.keyId !== (repo.keys?.id ?? null) || meta.format !== repo.format) {
    const mine: ReplicaMeta = { repoId: repo.repoId, keyId: repo.format === 'plain' ? null : (repo.keys?.id ?? null), format: repo.format };
    await t.putBytes('repository.json', Buffer.from(JSON.stringify(mine)));
  }
  for (const [name, size] of await t.list()) remote.set(name, size);
  const local = await sized(repo, localFiles(repo));
  const order = (n: string) => (n.endsWith('.pack') ? 0 : n.endsWith('.idx') ? 1 : 2);
  const todo = [...local]
    .filter(([n, f]) => remote.get(n) !== f.size)
    .sort(([a], [b]) => a.replace(/\.(pack|idx)$/, '').localeCompare(b.replace(/\.(pack|idx)$/, '')) || order(a) - order(b));
  // Manifests after every pack, so a manifest lands only once all its pages have.
  todo.sort(([a], [b]) => Number(a.startsWith('snapshots/')) - Number(b.startsWith('snapshots/')));
  const total = todo.reduce((n, [, f]) => n + f.size, 0);
  let bytesSent = 0;
  onProgress(0, total);
  const send = async ([name, f]: [string, LocalFile]): Promise<void> => {
    if (name.endsWith('.idx')) {
      const bytes = f.bytes();
      await t.putBytes(name, bytes);
      bytesSent += bytes.length;
    } else {
      try {
        bytesSent += await t.put(name, f.path as string);
      } catch (err) {
        // Gone since the listing (deleted by hand, a disk fault): the damage, named, not an internal error.
        if (!existsSync(f.path as string))
          throw new PhError('PH_BACKUP_DAMAGED', `The local repository lost ${name} during the push: the replica keeps its copy`, {
            details: { file: name },
            cause: err,
          });
        throw err;
      }
    }
    remote.set(name, f.size);
    onProgress(bytesSent, total);
  };
  // Packs of different ids go side by side where the transport allows it (a disk is idle while one
  // file is fsynced); each pack's index still follows its pack, and manifests wait for every pack.
  const packGroups = new Map<string, [string, LocalFile][]>();
  for (const entry of todo.filter(([n]) => n.startsWith('packs/'))) {
    const id = entry[0].replace(/\.(pack|idx)$/, '');
    packGroups.set(id, [...(packGroups.get(id) ?? []), entry]);
  }
  await eachAtMost(t.concurrency ?? 1, [...packGroups.values()], async (group) => {
    for (const entry of group) await send(entry);
  });
  for (const entry of todo.filter(([n]) => !n.startsWith('packs/'))) await send(entry);
  let removed = 0;
  const lost = lostNames(repo);
  const stale = [...remote.keys()].filter((n) => n !== 'repository.json' && !local.has(n) && !lost.has(n));
  stale.sort((a, b) => Number(b.startsWith('snapshots/')) - Number(a.startsWith('snapshots/')));
  for (const name of stale) {
    await t.remove(name);
    remote.delete(name);
    removed += 1;
  }
  return { filesSent: todo.length, bytesSent, removed, remote, local };
}

/**
 * Runs `work` on every item, at most `limit` at once. On the first failure no new item starts, the
 * ones under way finish (a pack under way still gets its index), then that failure is thrown: so what
 * the caller records as arrived is final when it hears of the failure.
 * Written here because p-map's `stopOnError` rejects while items are still running.
 */
async function eachAtMost<T>(limit: number, items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

export interface ReplicaVerification {
  readonly pagesChecked: number;
  readonly manifestsChecked: number;
  /** Replica files found damaged (a page's blob or a manifest differs, or does not open and hash right). */
  readonly damaged: string[];
  readonly repaired: string[];
}

/**
 * Reads `samplePages` random pages back from the replica, opens and hashes each on the workers
 * against its address (end to end: the replica's bytes, the key, the page), and compares a sample of
 * manifests byte for byte. A damaged file is sent again from the local copy when that is sound.
 */
export async function verifyReplica(
  repo: PageRepository,
  t: ReplicaTransport,
  samplePages: number,
  sampleManifests = 8,
): Promise<ReplicaVerification> {
  const remote = await t.list();
  const rows = (
    repo.db.prepare('SELECT hash, pack, offset, length, codec FROM pages ORDER BY random()').all() as {
      hash: Buffer;
      pack: string;
      offset: number;
      length: number;
      codec: number;
    }[]
  )
    .filter((r) => remote.has(`packs/${r.pack}.pack`))
    .slice(0, samplePages);
  const sizes = [...new Set(repo.listManifests().map((h) => h.pageSize))];
  const damaged = new Set<string>();
  for (const r of rows) {
    const name = `packs/${r.pack}.pack`;
    if (damaged.has(name)) continue;
    const theirs = await t.read(name, r.offset, r.length).catch(() => Buffer.alloc(0));
    if (!(await opensTo(repo, theirs, r, sizes))) damaged.add(name);
  }
  const manifests = repo
    .listManifests()
    .filter((h) => remote.has(`snapshots/${h.id}.snap`))
    .sort(() => Math.random() - 0.5)
    .slice(0, sampleManifests);
  for (const h of manifests) {
    const name = `snapshots/${h.id}.snap`;
    const theirs = await t.getBytes(name);
    const ours = repo.readManifest(h.id);
    // Compared by what they decode to: the replica's copy must open with the key and say the same.
    let same = false;
    try {
      const decoded = theirs === null ? null : repo.decodeManifestFile(h.id, theirs);
      same = decoded !== null && decoded.imageHash === ours.imageHash && decoded.pages.equals(ours.pages);
    } catch {
      same = false;
    }
    if (!same) damaged.add(name);
  }
  const repaired: string[] = [];
  for (const name of damaged) {
    await t.put(name, join(repo.dir, name));
    repaired.push(name);
  }
  return { pagesChecked: rows.length, manifestsChecked: manifests.length, damaged: [...damaged], repaired };
}

async function opensTo(
  repo: PageRepository,
  blob: Buffer,
  r: { hash: Buffer; length: number; codec: number },
  sizes: number[],
): Promise<boolean> {
  if (blob.length !== r.length) return false;
  for (const pageSize of sizes) {
    const e = await repo.workers.expandPages(blob, Uint32Array.of(r.length), Uint8Array.of(r.codec), pageSize, repo.pageKeys, r.hash);
    if (e.bad.length === 0 && e.hashes.subarray(0, 32).equals(r.hash)) return true;
  }
  return false;
}

export interface PullResult {
  readonly packs: number;
  readonly snapshots: number;
  readonly bytes: number;
}

/**
 * Fetches what the local repository lacks from the replica: each pack (to a temp name, then renamed
 * and fsynced) before its index rows commit, then the manifests, then reopens the repository. A new,
 * empty local repository (the old one lost) takes on the replica's identity; a local repository
 * with snapshots of its own and another identity is refused.
 */
export async function pullReplica(
  repo: PageRepository,
  t: ReplicaTransport,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<PullResult> {
  const meta = await readMeta(t);
  if (meta === null) throw new PhError('PH_BACKUP_REPLICA_UNREACHABLE', 'The replica holds no repository yet');
  if (meta.keyId !== null && meta.keyId !== (repo.keys?.id ?? null))
    throw new PhError('PH_BACKUP_KEY_WRONG', 'The replica was encrypted with another key: put that key in place first (docs/backup.md)');
  if (meta.repoId !== repo.repoId) {
    if (repo.listManifests().length > 0)
      throw new PhError('PH_BACKUP_REPLICA_FOREIGN', `The replica holds repository ${meta.repoId}; this node's has snapshots of its own`);
    setMeta(repo.db, 'repo_id', meta.repoId);
  }
  const remote = await t.list();
  const have = new Set((repo.db.prepare('SELECT id FROM packs').all() as { id: string }[]).map((r) => r.id));
  const packs = [...remote.keys()]
    .filter((n) => n.endsWith('.pack') && remote.has(n.replace(/\.pack$/, '.idx')))
    .map((n) => n.slice('packs/'.length, -'.pack'.length))
    .filter((id) => !have.has(id) || !repo.hasPackFile(id));
  // By file, not by the open repository's list: a file lost while the node runs is fetched too.
  const snaps = [...remote.keys()].filter((n) => n.startsWith('snapshots/') && !existsSync(join(repo.dir, n)));
  const total = packs.reduce((n, id) => n + (remote.get(`packs/${id}.pack`) ?? 0), 0);
  let bytes = 0;
  const insertPack = repo.db.prepare('INSERT OR IGNORE INTO packs (id, bytes, created_at) VALUES (?, ?, ?)');
  const insertPage = repo.db.prepare('INSERT OR IGNORE INTO pages (hash, pack, offset, length, codec) VALUES (?, ?, ?, ?, ?)');
  for (const id of packs) {
    const rows = parseIndex((await t.getBytes(`packs/${id}.idx`)) ?? Buffer.alloc(0));
    const temp = repo.tempPath('pull');
    try {
      await t.get(`packs/${id}.pack`, temp);
      const size = (await stat(temp)).size;
      if (size !== remote.get(`packs/${id}.pack`)) throw new Error(`pack ${id} arrived with ${size} bytes`);
      await rename(temp, repo.packPath(id));
      fsyncDir(repo.packsDir);
      repo.db.transaction(() => {
        packFound(repo.db, id);
        insertPack.run(id, size, Date.now());
        for (const r of rows) insertPage.run(r.hash, id, r.offset, r.length, r.codec);
      })();
      bytes += size;
      onProgress(bytes, total);
    } finally {
      await rm(temp, { force: true });
    }
  }
  for (const name of snaps) {
    const id = name.slice('snapshots/'.length, -'.snap'.length);
    const raw = await t.getBytes(name);
    if (raw === null) continue;
    repo.decodeManifestFile(id, raw); // refuses one that does not open with this key
    writeFileAtomic(join(repo.snapshotsDir, `${id}.snap`), repo.tempPath('manifest'), raw);
    bytes += raw.length;
  }
  return { packs: packs.length, snapshots: snaps.length, bytes };
}
