import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The keys one master key gives a repository, each derived for one job (HKDF-SHA256), so no key is
 * used for two things: `pages` seals page blobs (AES-256-GCM), `mac` addresses pages (HMAC-SHA256,
 * so equal pages still share one blob, yet an address says nothing about the page without the key),
 * `manifests` seals snapshot manifests. `id` names the master key without revealing it.
 */
export interface RepoKeys {
  readonly pages: Buffer;
  readonly mac: Buffer;
  readonly manifests: Buffer;
  readonly id: string;
}

const derive = (master: Buffer, info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), Buffer.from(`pilothouse backup ${info} v1`), 32));

export function deriveKeys(master: Buffer): RepoKeys {
  return {
    pages: derive(master, 'pages'),
    mac: derive(master, 'mac'),
    manifests: derive(master, 'manifests'),
    id: createHmac('sha256', derive(master, 'key-id')).update('pilothouse').digest('hex').slice(0, 32),
  };
}

/** A stored blob's codec byte has this bit set when the blob is sealed. */
export const SEALED = 0x80;
const TAG = 16;

/** Bytes of an IV (GCM's 96-bit nonce): `seal` takes one from `randomIvs(n)` each, or draws its own. */
export const IV_BYTES = 12;

/**
 * `n` fresh random IVs in one draw, for sealing a run of page blobs: drawing 12 bytes a page took
 * a third of a page's sealing time (a call into OpenSSL's generator each), one draw for the run does
 * not. Each IV is still used once.
 */
export const randomIvs = (n: number): Buffer => randomBytes(IV_BYTES * n);

/** iv ‖ AES-256-GCM(bytes) ‖ tag, with `aad` bound in (a blob's page address, a manifest's id). */
export function seal(key: Buffer, bytes: Buffer, aad: Buffer, iv: Buffer = randomBytes(IV_BYTES)): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const body = c.update(bytes);
  const last = c.final();
  return Buffer.concat([iv, body, last, c.getAuthTag()]);
}

/** The bytes `seal` sealed, or null when anything (key, aad, one bit of the blob) differs. */
export function open(key: Buffer, blob: Buffer, aad: Buffer): Buffer | null {
  if (blob.length < IV_BYTES + TAG) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV_BYTES));
    d.setAAD(aad);
    d.setAuthTag(blob.subarray(blob.length - TAG));
    return Buffer.concat([d.update(blob.subarray(IV_BYTES, blob.length - TAG)), d.final()]);
  } catch {
    return null;
  }
}

const SEALED_MAGIC = Buffer.from('PHSNAPE1');

export function isSealedManifest(bytes: Buffer): boolean {
  return bytes.length >= SEALED_MAGIC.length && bytes.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC);
}

/** A manifest on disk in an encrypted repository: magic, then the plain encoding sealed to its snapshot id. */
export function sealManifest(keys: RepoKeys, id: string, plain: Buffer): Buffer {
  return Buffer.concat([SEALED_MAGIC, seal(keys.manifests, plain, Buffer.from(`snapshot:${id}`))]);
}

export function openManifest(keys: RepoKeys, id: string, bytes: Buffer): Buffer {
  const plain = open(keys.manifests, bytes.subarray(SEALED_MAGIC.length), Buffer.from(`snapshot:${id}`));
  if (plain === null) throw new Error('the manifest does not open with this repository key (damaged, or another key)');
  return plain;
}
