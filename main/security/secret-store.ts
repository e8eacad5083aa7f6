import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DATA_DIR, readPrivateFile, writePrivateFile } from '../core';

/** The secrets Pilothouse keeps; a name outside this list is refused, so no caller can pick a path. */
export const secretNames = ['session-signing', 'audit-hmac', 'oauth-signing'] as const;
export type SecretName = (typeof secretNames)[number];

export const SECRETS_DIR = DATA_DIR.secrets;
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
    const text = readPrivateFile(this.path(name));
    if (text === null) return null;
    const value = Buffer.from(text.trim(), 'base64');
    if (value.length < SECRET_BYTES) throw new Error(`The secret file ${this.path(name)} is damaged (too short)`);
    return value;
  }

  #write(name: SecretName, value: Buffer, mode: 'create' | 'replace'): Buffer {
    if (writePrivateFile(this.path(name), `${value.toString('base64')}\n`, mode)) return value;
    // Two nodes sharing a data directory that both make the secret on their first start agree on the first one written.
    const first = this.#read(name);
    if (first === null) throw new Error(`The secret file ${this.path(name)} vanished while being created`);
    return first;
  }
}

function checkName(name: string): SecretName {
  if (!(secretNames as readonly string[]).includes(name)) throw new Error(`Unknown secret ${JSON.stringify(name)}`);
  return name as SecretName;
}
