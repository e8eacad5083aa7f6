import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** One 0600 JSON file per endpoint in a 0700 folder under the data dir, replaced atomically. */
export class FileSecretStore implements WebhookSecretStore {
  constructor(private readonly dir: string) {}

  read(endpointId: string): StoredSecret[] {
    const file = this.#file(endpointId);
    if (!existsSync(file)) return [];
    return JSON.parse(readFileSync(file, 'utf8')) as StoredSecret[];
  }

  write(endpointId: string, secrets: readonly StoredSecret[]): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.#file(endpointId);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(secrets), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  }

  remove(endpointId: string): void {
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
