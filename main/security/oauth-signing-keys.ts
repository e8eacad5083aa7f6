import { createHash, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { Type, type Static } from '@sinclair/typebox';
import type { Jwks } from '../../contract/oauth';
import type { Clock } from '../clock';
import type { ReplicaSource } from '../fleet';

/** Which generation signs now, and since when: the fleet table `oauth-signing` (one record, `current`). */
export const OAuthSigningStateSchema = Type.Object(
  { generation: Type.Integer({ minimum: 0 }), rotatedAt: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type OAuthSigningState = Static<typeof OAuthSigningStateSchema>;

export interface SigningKey {
  readonly generation: number;
  /** RFC 7638 thumbprint of the public key: what a token's header names. */
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: Jwks['keys'][number];
}

export interface SigningKeyOptions {
  /** A new generation signs once the current one is this old. */
  readonly rotateEveryMs: number;
  /** How long the previous generation stays published after a rotation: its tokens' lifetime and some skew. */
  readonly overlapMs: number;
}

const SETTING = 'oauth-signing';
const RECORD_ID = 'current';
const SALT = 'pilothouse oauth keys v1';
/** PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): the 16 bytes before the 32. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The Ed25519 keys that sign access tokens. No private key is stored anywhere: generation `n`'s
 * key is HKDF-SHA256 of a root secret with the label `oauth-signing/generation/<n>`, and the root
 * is the secret store's `oauth-signing` (a 0600 file on a single machine, derived from the fleet
 * secret in a fleet), so every node of a fleet signs and verifies with the same keys while only the
 * generation number travels. Rotation moves to the next generation when the current one is
 * `rotateEveryMs` old; the JWKS publishes the previous generation until its tokens have expired,
 * the current one, and the next one ahead of time, so a verifier's cached key set already holds a
 * key before any token is signed with it, and a node that hears of a rotation late still accepts
 * tokens another node signed with the new key.
 */
export class OAuthSigningKeys {
  readonly #keys = new Map<number, SigningKey>();
  readonly #listeners = new Set<(id: string, value: OAuthSigningState | null) => void>();
  readonly #read: Statement<[string], { value: string }>;
  readonly #write: Statement<[string, Buffer]>;

  constructor(
    db: Database,
    private readonly root: Buffer,
    private readonly clock: Clock,
    private readonly options: SigningKeyOptions,
  ) {
    this.#read = db.prepare('SELECT CAST(value AS TEXT) AS value FROM settings WHERE key = ?');
    this.#write = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    if (this.#row() === null) this.#store({ generation: 0, rotatedAt: clock.now() });
  }

  state(): OAuthSigningState {
    return this.#row() ?? { generation: 0, rotatedAt: 0 };
  }

  /** The key to sign with now, rotating first when the current generation is due. */
  signingKey(): SigningKey {
    let state = this.state();
    if (this.clock.now() - state.rotatedAt >= this.options.rotateEveryMs) state = this.rotate();
    return this.#key(state.generation);
  }

  /** The generations a token may be signed with now: as published. */
  published(): SigningKey[] {
    const { generation, rotatedAt } = this.state();
    const previous = generation > 0 && this.clock.now() < rotatedAt + this.options.overlapMs ? [generation - 1] : [];
    return [...previous, generation, generation + 1].map((g) => this.#key(g));
  }

  /** The published key a token's `kid` names, or null (unknown, or a generation no longer published). */
  verificationKey(kid: string): SigningKey | null {
    return this.published().find((key) => key.kid === kid) ?? null;
  }

  jwks(): Jwks {
    return { keys: this.published().map((key) => key.jwk) };
  }

  /** Moves to the next generation, here and (through the fleet table) on every node. */
  rotate(): OAuthSigningState {
    const next = { generation: this.state().generation + 1, rotatedAt: this.clock.now() };
    this.#store(next);
    for (const listener of this.#listeners) listener(RECORD_ID, next);
    return next;
  }

  replicaSource(): ReplicaSource<OAuthSigningState> {
    return {
      rows: () => {
        const row = this.#row();
        return row === null ? [] : [[RECORD_ID, row] as const];
      },
      // Generations only go forward: a record that would take this node back is not applied.
      apply: (id, value) => {
        if (id !== RECORD_ID || value === null || value.generation < this.state().generation) return;
        this.#store(value);
      },
      onLocalChange: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
    };
  }

  #row(): OAuthSigningState | null {
    const row = this.#read.get(SETTING);
    if (row === undefined) return null;
    try {
      const parsed = JSON.parse(row.value) as OAuthSigningState;
      return Number.isSafeInteger(parsed.generation) && Number.isSafeInteger(parsed.rotatedAt) ? parsed : null;
    } catch {
      return null;
    }
  }

  #store(state: OAuthSigningState): void {
    this.#write.run(SETTING, Buffer.from(JSON.stringify(state)));
  }

  #key(generation: number): SigningKey {
    const cached = this.#keys.get(generation);
    if (cached !== undefined) return cached;
    const seed = Buffer.from(hkdfSync('sha256', this.root, SALT, `oauth-signing/generation/${generation}`, 32));
    const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
    // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    const kid = createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
    const key: SigningKey = {
      generation,
      kid,
      privateKey,
      publicKey,
      jwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
    };
    this.#keys.set(generation, key);
    return key;
  }
}
