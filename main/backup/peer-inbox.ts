import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PhError } from '../../contract/errors';
import { fsyncDir } from './fs-durable';
import { FolderTransport, isReplicaName } from './replica-transport';

const NODE = /^[A-Za-z0-9._-]{1,64}$/;
/** Larger than any pack (64 MiB by default, closed past the target) with room to spare; a bigger body is refused as it arrives. */
export const PEER_MAX_FILE_BYTES = 1024 * 1024 * 1024;

/**
 * The replicas other nodes keep on this one: `<root>/<sender node id>/`, laid out like a folder
 * replica (repository.json, packs/, snapshots/). The folder is the signed sender's, from the
 * allow-list (`backup.peerSenders`); a name is one of a repository's own (checkName), so no request
 * reaches a path the sender chose. Files are written whole or not at all, and a body whose bytes
 * are not the ones signed is dropped.
 */
/** A sender's name for a file, when it is one of a repository's own (so it stays inside the sender's folder). */
function fileName(name: string): string {
  if (!isReplicaName(name))
    throw new PhError('PH_INVALID_INPUT', 'Not a replica file name: repository.json, packs/<id>.pack|.idx or snapshots/<id>.snap', {
      field: 'name',
    });
  return name;
}

export class PeerInbox {
  readonly #senders: ReadonlySet<string>;
  /** Temp files being written now: the listing sweeps every other `.partial` (left by a sender that died mid-file). */
  readonly #writing = new Set<string>();

  constructor(
    readonly root: string,
    senders: readonly string[],
  ) {
    this.#senders = new Set(senders);
  }

  /** Throws PH_BACKUP_PEER_REFUSED unless `node` may keep a replica here. */
  admit(node: string): void {
    if (this.#senders.size === 0)
      throw new PhError('PH_BACKUP_PEER_REFUSED', 'This node keeps no peer replicas: add the sender to backup.peerSenders');
    if (!NODE.test(node) || !this.#senders.has(node))
      throw new PhError('PH_BACKUP_PEER_REFUSED', `This node keeps no replicas for ${JSON.stringify(node)} (backup.peerSenders)`);
  }

  async #folder(node: string): Promise<FolderTransport> {
    this.admit(node);
    const dir = join(this.root, node);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new FolderTransport(dir);
  }

  async list(node: string): Promise<Map<string, number>> {
    const folder = await this.#folder(node);
    for (const sub of ['packs', 'snapshots']) {
      const names = await readdir(join(folder.root, sub)).catch(() => [] as string[]);
      for (const n of names) {
        const path = join(folder.root, sub, n);
        if (n.endsWith('.partial') && !this.#writing.has(path)) await rm(path, { force: true });
      }
    }
    return folder.list();
  }

  /** Size of a file, or null when the sender has no such file here. */
  async size(node: string, name: string): Promise<{ path: string; size: number } | null> {
    const folder = await this.#folder(node);
    const path = join(folder.root, fileName(name));
    try {
      return { path, size: (await stat(path)).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async read(node: string, name: string, offset: number, length: number): Promise<Buffer> {
    return (await this.#folder(node)).read(fileName(name), offset, length);
  }

  async remove(node: string, name: string): Promise<void> {
    await (await this.#folder(node)).remove(fileName(name));
  }

  /** Streams `body` to a temp file beside the target, checks its size and hash, fsyncs, renames. Returns the bytes written. */
  async write(node: string, name: string, body: Readable, sha256: string, expectedBytes: number): Promise<number> {
    const folder = await this.#folder(node);
    const target = join(folder.root, fileName(name));
    if (!Number.isSafeInteger(expectedBytes) || expectedBytes < 0 || expectedBytes > PEER_MAX_FILE_BYTES)
      throw new PhError('PH_INVALID_INPUT', `A peer replica file has a Content-Length of at most ${PEER_MAX_FILE_BYTES} bytes`);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const temp = `${target}.${randomBytes(6).toString('hex')}.partial`;
    this.#writing.add(temp);
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          hash.update(chunk);
          done(bytes > expectedBytes ? new PhError('PH_INVALID_INPUT', 'The body is longer than its Content-Length') : null, chunk);
        },
      });
      await pipeline(body, counted, createWriteStream(temp, { mode: 0o600 }));
      if (bytes !== expectedBytes || hash.digest('hex') !== sha256)
        throw new PhError('PH_BACKUP_PEER_UNSIGNED', 'The body is not the one the signature covers');
      const fh = await open(temp, 'r+');
      await fh.sync();
      await fh.close();
      await rename(temp, target);
      fsyncDir(dirname(target));
      return bytes;
    } finally {
      this.#writing.delete(temp);
      await rm(temp, { force: true });
    }
  }
}
