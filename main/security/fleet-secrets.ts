import { hkdfSync } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { Type, type Static } from '@sinclair/typebox';
import type { ReplicaSource } from '../fleet';
import { secretNames, type SecretName, type Secrets } from './secret-store';

/** One record per secret in the fleet table `key-generations`: which generation every node derives. */
export const KeyGenerationSchema = Type.Object({ generation: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type KeyGeneration = Static<typeof KeyGenerationSchema>;

const SALT = 'pilothouse fleet keys v1';
const KEY_BYTES = 32;
const setting = (name: SecretName): string => `key-generation:${name}`;

/**
 * The secrets of a node in a fleet: the same on every node without ever travelling. Each is
 * HKDF-SHA256 of the fleet secret with a per-purpose label and a generation (`<name>/generation/<n>`),
 * so a session token signed on one node verifies on any other and every node checks every node's
 * audit chain. The generation is the one thing that changes (`rotate`), and it is itself fleet-wide:
 * a replicated table carries it, so a rotation on one node ends every session on every node. The
 * generation is kept in this node's `settings`; the fleet secret never is (config, env or a 0600 file).
 */
export class FleetSecrets implements Secrets {
  readonly #secret: Buffer;
  readonly #derived = new Map<string, Buffer>();
  readonly #listeners = new Set<(id: string, value: KeyGeneration | null) => void>();
  readonly #rotatedElsewhere = new Set<(name: SecretName) => void>();
  readonly #read: Statement<[string], { value: string }>;
  readonly #write: Statement<[string, Buffer]>;

  constructor(db: Database, fleetSecret: string) {
    if (fleetSecret.length < 32) throw new Error('The fleet secret must be at least 32 characters');
    this.#secret = Buffer.from(fleetSecret, 'utf8');
    this.#read = db.prepare('SELECT CAST(value AS TEXT) AS value FROM settings WHERE key = ?');
    this.#write = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  generation(name: SecretName): number {
    const row = this.#read.get(setting(name));
    const n = row === undefined ? 0 : Number(row.value);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  get(name: SecretName): Buffer {
    const generation = this.generation(name);
    const label = `${name}/generation/${generation}`;
    let key = this.#derived.get(label);
    if (key === undefined) {
      key = Buffer.from(hkdfSync('sha256', this.#secret, SALT, label, KEY_BYTES));
      this.#derived.set(label, key);
    }
    return key;
  }

  /**
   * A key for encrypting what must cross Redis unreadable (webhook endpoint secrets), the same on
   * every node: HKDF of the fleet secret with `<purpose>/encryption`. It has no generation, since
   * what it encrypts is re-encrypted by nobody; changing the fleet secret changes it.
   */
  encryptionKey(purpose: string): Buffer {
    const label = `${purpose}/encryption`;
    let key = this.#derived.get(label);
    if (key === undefined) {
      key = Buffer.from(hkdfSync('sha256', this.#secret, SALT, label, KEY_BYTES));
      this.#derived.set(label, key);
    }
    return key;
  }

  /** The next generation, here and (through the replicated table) on every node. */
  rotate(name: SecretName): Buffer {
    const next = { generation: this.generation(name) + 1 };
    this.#write.run(setting(name), Buffer.from(String(next.generation)));
    for (const listener of this.#listeners) listener(name, next);
    return this.get(name);
  }

  /** Hears a secret rotated on another node as its generation arrives (sessions signed before must end here too). */
  onRotatedElsewhere(listener: (name: SecretName) => void): () => void {
    this.#rotatedElsewhere.add(listener);
    return () => this.#rotatedElsewhere.delete(listener);
  }

  replicaSource(): ReplicaSource<KeyGeneration> {
    return {
      rows: () =>
        secretNames
          .filter((name) => this.#read.get(setting(name)) !== undefined)
          .map((name) => [name, { generation: this.generation(name) }] as const),
      apply: (id, value) => {
        if (!(secretNames as readonly string[]).includes(id) || value === null) return;
        const changed = this.generation(id as SecretName) !== value.generation;
        this.#write.run(setting(id as SecretName), Buffer.from(String(value.generation)));
        if (changed) for (const listener of this.#rotatedElsewhere) listener(id as SecretName);
      },
      onLocalChange: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
    };
  }
}
