import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readPrivateFile, writePrivateFile } from '../core';

/** One signing secret of an endpoint; `expiresAt` (epoch ms) is set on the old one during a rotation. */
export interface StoredSecret {
  readonly secret: string;
  readonly expiresAt: number | null;
}

/**
 * Where endpoint secrets live: outside the database, so a backup or an export of it never carries
 * them. Kept this small so the security capability's shared secret store can replace the file one.
 */
export interface WebhookSecretStore {
  /** Newest first. */
  read(endpointId: string): StoredSecret[];
  write(endpointId: string, secrets: readonly StoredSecret[]): void;
  remove(endpointId: string): void;
}

const ID = /^[A-Za-z0-9-]{1,100}$/;

/**
 * One 0600 JSON file per endpoint in a 0700 folder under the data dir, replaced atomically. Files are
 * opened without following links and written to a fresh exclusive temp name, so a planted link
 * cannot make a write or a read land elsewhere.
 */
export class FileSecretStore implements WebhookSecretStore {
  /** Read once per endpoint: every delivery signs, and this store is the only writer of its files. */
  readonly #cache = new Map<string, StoredSecret[]>();

  constructor(private readonly dir: string) {}

  read(endpointId: string): StoredSecret[] {
    const cached = this.#cache.get(endpointId);
    if (cached !== undefined) return cached;
    const secrets = this.#readFile(endpointId);
    if (secrets.length > 0) this.#cache.set(endpointId, secrets);
    return secrets;
  }

  #readFile(endpointId: string): StoredSecret[] {
    const text = readPrivateFile(this.#file(endpointId));
    return text === null ? [] : (JSON.parse(text) as StoredSecret[]);
  }

  write(endpointId: string, secrets: readonly StoredSecret[]): void {
    writePrivateFile(this.#file(endpointId), JSON.stringify(secrets), 'replace');
    this.#cache.set(endpointId, [...secrets]);
  }

  remove(endpointId: string): void {
    this.#cache.delete(endpointId);
    rmSync(this.#file(endpointId), { force: true });
  }

  #file(endpointId: string): string {
    // The id comes from our own table, but a path is built from it: refuse anything but an id.
    if (!ID.test(endpointId)) throw new Error(`Not an endpoint id: ${endpointId}`);
    return join(this.dir, `${endpointId}.json`);
  }
}

/** The secrets that still sign at `now`, newest first. */
export function liveSecrets(secrets: readonly StoredSecret[], now: number): string[] {
  return secrets.filter((s) => s.expiresAt === null || s.expiresAt > now).map((s) => s.secret);
}
