import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** The secrets Pilothouse keeps; a name outside this list is refused, so no caller can pick a path. */
export const secretNames = ['session-signing', 'audit-hmac', 'oauth-signing'] as const;
export type SecretName = (typeof secretNames)[number];

export const SECRETS_DIR = 'secrets';
const SECRET_BYTES = 32;

/**
 * What the services need from secret storage. Today the one implementation keeps a file per secret
 * on this node; a fleet store can implement the same two calls and share them across nodes.
 */
export interface Secrets {
  get(name: SecretName): Buffer;
  rotate(name: SecretName): Buffer;
}

/**
 * Secrets in `<dataDir>/secrets/<name>.key` (directory 0700, files 0600, base64 on one line), never in
 * the database, so a snapshot or an export of pilothouse.db carries none of them. Files are opened
 * without following links (a planted link cannot make us read or write elsewhere) and replaced by
 * rename, so a crash mid-rotation leaves the old secret or the new one, never half of either.
 */
export class SecretStore implements Secrets {
  readonly dir: string;
  readonly #cache = new Map<SecretName, Buffer>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, SECRETS_DIR);
  }

  path(name: SecretName): string {
    return join(this.dir, `${checkName(name)}.key`);
  }

  /** The secret, made (32 random bytes) on first use. */
  get(name: SecretName): Buffer {
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    const value = this.#read(name) ?? this.#write(name, randomBytes(SECRET_BYTES), 'create');
    this.#cache.set(name, value);
    return value;
  }

  /** True when the secret's file already exists (used to tell a first start from a later one). */
  has(name: SecretName): boolean {
    return this.#cache.has(name) || this.#read(name) !== null;
  }

  /** Replaces the secret with fresh random bytes and returns them. */
  rotate(name: SecretName): Buffer {
    const value = this.#write(name, randomBytes(SECRET_BYTES), 'replace');
    this.#cache.set(name, value);
    return value;
  }

  /** Keeps `value` as the secret unless a file already holds one (moving a secret out of the database). */
  adopt(name: SecretName, value: Buffer): Buffer {
    const existing = this.#read(name);
    const kept = existing ?? this.#write(name, Buffer.from(value), 'create');
    this.#cache.set(name, kept);
    return kept;
  }

  #read(name: SecretName): Buffer | null {
    let fd: number;
    try {
      fd = openSync(this.path(name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
      const value = Buffer.from(readFileSync(fd, 'utf8').trim(), 'base64');
      if (value.length < SECRET_BYTES) throw new Error(`The secret file ${this.path(name)} is damaged (too short)`);
      return value;
    } finally {
      closeSync(fd);
    }
  }

  #write(name: SecretName, value: Buffer, mode: 'create' | 'replace'): Buffer {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const target = this.path(name);
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${value.toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      if (mode === 'replace') {
        renameSync(temp, target);
      } else {
        // link() refuses an existing target: two nodes sharing a data directory that both make the
        // secret on their first start agree on the first one written.
        try {
          linkSync(temp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const first = this.#read(name);
          if (first !== null) return first;
          throw err;
        }
      }
      syncDir(this.dir);
      return value;
    } finally {
      rmSync(temp, { force: true });
    }
  }
}

function checkName(name: string): SecretName {
  if (!(secretNames as readonly string[]).includes(name)) throw new Error(`Unknown secret ${JSON.stringify(name)}`);
  return name as SecretName;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
