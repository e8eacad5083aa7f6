import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { PhError } from '../../contract/errors';
import { readPrivateFile, writePrivateFile } from '../core';

const MASTER_BYTES = 32;
/** scrypt cost: 2^15 × 8 × 128 B = 32 MiB and ~100 ms a try, the cost OWASP suggests for scrypt. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

type KeyFileBody =
  | { readonly v: 1; readonly wrapped: false; readonly key: string }
  | { readonly v: 1; readonly wrapped: true; readonly salt: string; readonly iv: string; readonly tag: string; readonly key: string };

/**
 * The repository's master key, in a 0600 file in the data directory's secrets folder (never in the
 * repository, so a copy or a replica of it carries no key): base64 as it is, or wrapped with
 * AES-256-GCM under a key scrypt derives from the admin's passphrase. Opened without following
 * links and replaced by rename, like every other secret file.
 */
export class RepoKeyFile {
  constructor(readonly path: string) {}

  exists(): boolean {
    return this.#body() !== null;
  }

  wrapped(): boolean {
    return this.#body()?.wrapped === true;
  }

  /** The master key, made on first use; a wrapped one needs its passphrase. */
  load(passphrase: string | null): Buffer {
    const body = this.#body();
    if (body === null) {
      const key = randomBytes(MASTER_BYTES);
      this.#write({ v: 1, wrapped: false, key: key.toString('base64') }, 'create');
      return this.load(passphrase);
    }
    return unwrap(body, passphrase);
  }

  /** Wraps the key under `next` (null: stored as it is); a wrapped key needs `current` first. */
  setPassphrase(current: string | null, next: string | null): void {
    const body = this.#body();
    if (body === null) throw new PhError('PH_BACKUP_KEY_LOCKED', 'The repository has no key yet');
    const key = unwrap(body, current);
    if (next === null) {
      this.#write({ v: 1, wrapped: false, key: key.toString('base64') }, 'replace');
      return;
    }
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', scryptSync(next, salt, 32, SCRYPT), iv);
    const sealed = Buffer.concat([c.update(key), c.final()]);
    this.#write(
      {
        v: 1,
        wrapped: true,
        salt: salt.toString('base64'),
        iv: iv.toString('base64'),
        tag: c.getAuthTag().toString('base64'),
        key: sealed.toString('base64'),
      },
      'replace',
    );
  }

  #body(): KeyFileBody | null {
    const text = readPrivateFile(this.path);
    return text === null ? null : (JSON.parse(text) as KeyFileBody);
  }

  /** `create` never replaces a key (a racing creator's is kept and loaded); `replace` only re-wraps the same key. */
  #write(body: KeyFileBody, mode: 'create' | 'replace'): void {
    writePrivateFile(this.path, `${JSON.stringify(body)}\n`, mode);
  }
}

function unwrap(body: KeyFileBody, passphrase: string | null): Buffer {
  if (!body.wrapped) return Buffer.from(body.key, 'base64');
  if (passphrase === null) throw new PhError('PH_BACKUP_KEY_LOCKED', 'The repository key is wrapped by a passphrase: unlock it first');
  try {
    const d = createDecipheriv(
      'aes-256-gcm',
      scryptSync(passphrase, Buffer.from(body.salt, 'base64'), 32, SCRYPT),
      Buffer.from(body.iv, 'base64'),
    );
    d.setAuthTag(Buffer.from(body.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(body.key, 'base64')), d.final()]);
  } catch {
    throw new PhError('PH_BACKUP_KEY_WRONG', 'That passphrase does not unlock the repository key');
  }
}
