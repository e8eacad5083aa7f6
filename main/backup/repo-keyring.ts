import { PhError } from '../../contract/errors';
import type { PageRepository } from './page-repository';
import { deriveKeys, type RepoKeys } from './repo-crypto';
import { RepoKeyFile } from './repo-key';

export interface KeyStatus {
  readonly encrypted: boolean;
  readonly format: string;
  readonly wrapped: boolean;
  readonly locked: boolean;
  readonly keyId: string | null;
}

/** The repository's master key as the service holds it: loaded, locked (wrapped, no passphrase yet), or none (plain). */
export class RepoKeyring {
  readonly file: RepoKeyFile;
  #master: Buffer | null = null;
  #locked = false;

  constructor(path: string) {
    this.file = new RepoKeyFile(path);
  }

  get locked(): boolean {
    return this.#locked;
  }

  /**
   * The keys to open the repository with: null for a plain one (`encrypt` false and no key file),
   * 'locked' when the key is wrapped and `passphrase` is null (PH_BACKUP_KEY_WRONG for a wrong one).
   */
  load(encrypt: boolean, passphrase: string | null): RepoKeys | null | 'locked' {
    if (!encrypt && !this.file.exists()) return null;
    try {
      this.#master = this.file.load(passphrase);
    } catch (err) {
      if (!(err instanceof PhError) || err.code !== 'PH_BACKUP_KEY_LOCKED') throw err;
      this.#locked = true;
      return 'locked';
    }
    this.#locked = false;
    return deriveKeys(this.#master);
  }

  status(repo: PageRepository): KeyStatus {
    return {
      encrypted: this.#locked || repo.format === 'encrypted',
      format: this.#locked ? 'locked' : repo.format,
      wrapped: this.file.wrapped(),
      locked: this.#locked,
      keyId: repo.keys?.id ?? null,
    };
  }

  /** Wraps the key under `next`, or (null) stores it unwrapped; a wrapped key needs `current`. */
  setPassphrase(current: string | null, next: string | null): void {
    if (this.#locked) throw new PhError('PH_BACKUP_KEY_LOCKED', 'Unlock the repository key first');
    if (!this.file.exists()) throw new PhError('PH_CONFLICT', 'The backup repository is not encrypted');
    this.file.setPassphrase(this.file.wrapped() ? current : null, next);
  }

  /** The master key, base64, for safekeeping off the machine. */
  export(): { keyId: string; masterKey: string } {
    if (this.#locked || this.#master === null) throw new PhError('PH_BACKUP_KEY_LOCKED', 'There is no loaded repository key to export');
    return { keyId: deriveKeys(this.#master).id, masterKey: this.#master.toString('base64') };
  }
}
