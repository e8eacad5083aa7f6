import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDirAsync } from './fs-durable';

/**
 * Where a replica's files go. Names are relative and always one of `repository.json`,
 * `packs/<id>.pack`, `packs/<id>.idx`, `snapshots/<id>.snap` (replica-sync.ts builds them; each
 * transport refuses anything else), so no name from a listing can reach outside the replica's root.
 */
export interface ReplicaTransport {
  /** Every replica file, name → size. */
  list(): Promise<Map<string, number>>;
  /** The local file as `name`, whole: a reader never sees half a file under that name. Returns bytes sent. */
  put(name: string, localPath: string): Promise<number>;
  putBytes(name: string, bytes: Buffer): Promise<void>;
  /** `length` bytes of `name` from `offset` (fewer at its end). */
  read(name: string, offset: number, length: number): Promise<Buffer>;
  /** The whole file, or null when it is not there. */
  getBytes(name: string): Promise<Buffer | null>;
  get(name: string, localPath: string): Promise<void>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
  /** Files a push may send at once (default 1: one after another). */
  readonly concurrency?: number;
}

const NAME = /^(repository\.json|packs\/[A-Za-z0-9-]{1,80}\.(pack|idx)|snapshots\/[A-Za-z0-9-]{1,120}\.snap)$/;

/** Throws for a name that is not one of the replica's own. */
export function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a replica file name: ${JSON.stringify(name)}`);
  return name;
}

export const isReplicaName = (name: string): boolean => NAME.test(name);

/**
 * A folder (an external drive, a NAS mount): files are written under a temp name, fsynced and renamed,
 * so a drive pulled mid-copy leaves the old file or none, and the next sync sends it again.
 */
export class FolderTransport implements ReplicaTransport {
  /** Like rclone's default `--transfers 4`: the disk keeps writing while one file is fsynced. */
  readonly concurrency = 4;

  constructor(readonly root: string) {}

  async list(): Promise<Map<string, number>> {
    await stat(this.root); // a missing folder (drive unplugged) is an error, not an empty replica
    const out = new Map<string, number>();
    for (const sub of ['packs', 'snapshots']) {
      let names: string[] = [];
      try {
        names = await readdir(join(this.root, sub));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      for (const n of names) {
        const name = `${sub}/${n}`;
        if (isReplicaName(name)) out.set(name, (await stat(join(this.root, name))).size);
      }
    }
    try {
      out.set('repository.json', (await stat(join(this.root, 'repository.json'))).size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return out;
  }

  async #place(name: string, write: (temp: string) => Promise<void>): Promise<void> {
    const target = join(this.root, checkName(name));
    // Never the root itself: an unmounted drive's mount point must not fill up with a new replica.
    await stat(this.root);
    await mkdir(dirname(target)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const temp = `${target}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await write(temp);
      const fh = await open(temp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await fsyncDirAsync(dirname(target));
  }

  async put(name: string, localPath: string): Promise<number> {
    await this.#place(name, (temp) => copyFile(localPath, temp));
    return (await stat(localPath)).size;
  }

  async putBytes(name: string, bytes: Buffer): Promise<void> {
    await this.#place(name, (temp) => writeFile(temp, bytes));
  }

  async read(name: string, offset: number, length: number): Promise<Buffer> {
    const fh = await open(join(this.root, checkName(name)), 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async getBytes(name: string): Promise<Buffer | null> {
    try {
      const fh = await open(join(this.root, checkName(name)), 'r');
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async get(name: string, localPath: string): Promise<void> {
    await copyFile(join(this.root, checkName(name)), localPath);
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.root, checkName(name)), { force: true });
  }

  async close(): Promise<void> {}
}
