import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { checkName, isReplicaName, type ReplicaTransport } from './replica-transport';

export interface SftpTarget {
  /** The address the outbound-reach check approved. */
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** Absolute folder on the server. */
  readonly path: string;
  /** SHA-256 of the server's host key (base64, as `ssh-keygen -l` prints it after `SHA256:`); the connection is refused on any other key. */
  readonly hostKeySha256: string;
  readonly privateKey?: string;
  readonly password?: string;
}

/**
 * An SSH server's folder, over SFTP (ssh2-sftp-client). The host key is pinned: a server that
 * answers with another key is refused before any byte of the repository is sent. Files are written
 * under a temp name and renamed (POSIX rename), so an interrupted upload leaves no half file.
 */
export class SftpTransport implements ReplicaTransport {
  readonly #client = new SftpClient('pilothouse-replica');
  #connected: Promise<void> | null = null;

  constructor(private readonly target: SftpTarget) {}

  #connect(): Promise<void> {
    if (this.#connected === null) {
      const t = this.target;
      this.#connected = this.#client
        .connect({
          host: t.host,
          port: t.port,
          username: t.username,
          ...(t.privateKey === undefined ? {} : { privateKey: t.privateKey }),
          ...(t.password === undefined ? {} : { password: t.password }),
          readyTimeout: 10_000,
          retries: 0,
          hostVerifier: (key: Buffer) =>
            createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === t.hostKeySha256.replace(/=+$/, ''),
        })
        .then(() => undefined);
      this.#connected.catch(() => (this.#connected = null));
    }
    return this.#connected;
  }

  #path(name: string): string {
    return posix.join(this.target.path, checkName(name));
  }

  async list(): Promise<Map<string, number>> {
    await this.#connect();
    const out = new Map<string, number>();
    for (const sub of ['packs', 'snapshots']) {
      const dir = posix.join(this.target.path, sub);
      if ((await this.#client.exists(dir)) !== 'd') continue;
      for (const e of await this.#client.list(dir)) {
        const name = `${sub}/${e.name}`;
        if (isReplicaName(name)) out.set(name, e.size);
      }
    }
    const repo = posix.join(this.target.path, 'repository.json');
    if ((await this.#client.exists(repo)) === '-') out.set('repository.json', (await this.#client.stat(repo)).size);
    return out;
  }

  async #place(name: string, write: (temp: string) => Promise<unknown>): Promise<void> {
    await this.#connect();
    const target = this.#path(name);
    await this.#client.mkdir(posix.dirname(target), true);
    const temp = `${target}.partial`;
    await write(temp);
    await this.#client.posixRename(temp, target);
  }

  async put(name: string, localPath: string): Promise<number> {
    let size = 0;
    await this.#place(name, async (temp) => {
      await this.#client.fastPut(localPath, temp);
      size = (await this.#client.stat(temp)).size;
    });
    return size;
  }

  async putBytes(name: string, bytes: Buffer): Promise<void> {
    await this.#place(name, (temp) => this.#client.put(bytes, temp));
  }

  async read(name: string, offset: number, length: number): Promise<Buffer> {
    await this.#connect();
    const chunks: Buffer[] = [];
    const stream = this.#client.createReadStream(this.#path(name), { start: offset, end: offset + length - 1 });
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async getBytes(name: string): Promise<Buffer | null> {
    await this.#connect();
    if ((await this.#client.exists(this.#path(name))) !== '-') return null;
    return (await this.#client.get(this.#path(name))) as Buffer;
  }

  async get(name: string, localPath: string): Promise<void> {
    await this.#connect();
    await this.#client.fastGet(this.#path(name), localPath);
  }

  async remove(name: string): Promise<void> {
    await this.#connect();
    if ((await this.#client.exists(this.#path(name))) !== false) await this.#client.delete(this.#path(name));
  }

  async close(): Promise<void> {
    if (this.#connected !== null) await this.#client.end().catch(() => undefined);
    this.#connected = null;
  }
}
