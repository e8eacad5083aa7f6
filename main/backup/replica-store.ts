import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { readPrivateFile, writePrivateFile } from '../core';

export type ReplicaKind = 'folder' | 's3' | 'sftp' | 'peer';

/** A replica's target without its secrets: what the table (and a backup of the database) holds. */
export interface ReplicaTarget {
  readonly path?: string;
  readonly endpoint?: string;
  readonly bucket?: string;
  readonly prefix?: string;
  readonly region?: string;
  readonly accessKeyId?: string;
  readonly host?: string;
  readonly port?: number;
  readonly username?: string;
  readonly hostKeySha256?: string;
  /** peer: the other node's base URL, its node id (pinned), its certificate's fingerprint over https. */
  readonly url?: string;
  readonly node?: string;
  readonly certSha256?: string;
}

/** The secrets: in a 0600 file per replica, never in the database. */
export interface ReplicaSecrets {
  readonly secretAccessKey?: string;
  readonly privateKey?: string;
  readonly password?: string;
  /** peer: an admin API key of the other node. */
  readonly apiKey?: string;
}

export interface ReplicaRecord {
  readonly id: string;
  readonly name: string;
  readonly kind: ReplicaKind;
  readonly target: ReplicaTarget;
  readonly createdAt: number;
  readonly state: string;
  readonly lastSyncAt: number | null;
  readonly lastError: string | null;
  readonly lastVerifiedAt: number | null;
  readonly lastVerifyOk: boolean | null;
  readonly lastVerifyDetail: string | null;
  readonly lagSnapshots: number;
  readonly lagBytes: number;
  readonly bytesSent: number;
}

interface Row {
  id: string;
  name: string;
  kind: ReplicaKind;
  target: string;
  created_at: number;
  state: string;
  last_sync_at: number | null;
  last_error: string | null;
  last_verified_at: number | null;
  last_verify_ok: number | null;
  last_verify_detail: string | null;
  lag_snapshots: number;
  lag_bytes: number;
  bytes_sent: number;
}

const toRecord = (r: Row): ReplicaRecord => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  target: JSON.parse(r.target) as ReplicaTarget,
  createdAt: r.created_at,
  state: r.state,
  lastSyncAt: r.last_sync_at,
  lastError: r.last_error,
  lastVerifiedAt: r.last_verified_at,
  lastVerifyOk: r.last_verify_ok === null ? null : r.last_verify_ok === 1,
  lastVerifyDetail: r.last_verify_detail,
  lagSnapshots: r.lag_snapshots,
  lagBytes: r.lag_bytes,
  bytesSent: r.bytes_sent,
});

const ID = /^rep-[a-f0-9]{16}$/;

/** The replica table (per node: each node's repository is its own) and the secret files beside it. */
export class ReplicaStore {
  constructor(
    private readonly db: Database,
    private readonly secretsDir: string,
  ) {}

  list(): ReplicaRecord[] {
    return (this.db.prepare('SELECT * FROM backup_replicas ORDER BY created_at, id').all() as Row[]).map(toRecord);
  }

  get(id: string): ReplicaRecord | undefined {
    const row = this.db.prepare('SELECT * FROM backup_replicas WHERE id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  insert(name: string, kind: ReplicaKind, target: ReplicaTarget, secrets: ReplicaSecrets, now: number): string {
    const id = `rep-${randomBytes(8).toString('hex')}`;
    this.writeSecrets(id, secrets);
    this.db
      .prepare('INSERT INTO backup_replicas (id, name, kind, target, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, name, kind, JSON.stringify(target), now);
    return id;
  }

  remove(id: string): boolean {
    rmSync(this.#file(id), { force: true });
    return this.db.prepare('DELETE FROM backup_replicas WHERE id = ?').run(id).changes > 0;
  }

  update(
    id: string,
    fields: Partial<{
      state: string;
      last_sync_at: number;
      last_error: string | null;
      last_verified_at: number;
      last_verify_ok: number;
      last_verify_detail: string;
      lag_snapshots: number;
      lag_bytes: number;
    }>,
    addSent = 0,
  ): void {
    const keys = Object.keys(fields);
    const sets = [...keys.map((k) => `${k} = @${k}`), 'bytes_sent = bytes_sent + @addSent'];
    this.db.prepare(`UPDATE backup_replicas SET ${sets.join(', ')} WHERE id = @id`).run({ ...fields, addSent, id });
  }

  secrets(id: string): ReplicaSecrets {
    const text = readPrivateFile(this.#file(id));
    return text === null ? {} : (JSON.parse(text) as ReplicaSecrets);
  }

  writeSecrets(id: string, secrets: ReplicaSecrets): void {
    writePrivateFile(this.#file(id), JSON.stringify(secrets), 'replace');
  }

  #file(id: string): string {
    if (!ID.test(id)) throw new Error(`Not a replica id: ${id}`);
    return join(this.secretsDir, `${id}.json`);
  }
}
