import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import sodium from 'sodium-native';

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

/** A stored blob's codec byte has this bit set when the blob is sealed (see XCHACHA for which cipher). */
export const SEALED = 0x80;
const TAG = 16;

/** GCM's 96-bit IV: manifests, and the page blobs repositories wrote before XChaCha20-Poly1305. */
const IV_BYTES = 12;

/**
 * A sealed page blob's codec byte has this bit as well when the blob is XChaCha20-Poly1305
 * (libsodium); a sealed blob without it is AES-256-GCM, as page blobs were sealed before, and it
 * still opens. Page blobs moved to libsodium because Node's cipher objects cost more to set up than
 * a 2 KB blob costs to seal: about 7 µs a blob against 3.75 µs for one call into a caller's buffer,
 * the difference between an encrypted snapshot at 0.83 and about 0.9 of a plain one.
 */
export const XCHACHA = 0x40;
export const NONCE_BYTES: number = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
const MAC_BYTES: number = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;

/** The XChaCha20-Poly1305 key for page blobs, derived from the repository's pages key (one key, one cipher). */
export const pageSealKey = (pagesKey: Buffer): Buffer =>
  Buffer.from(hkdfSync('sha256', pagesKey, Buffer.alloc(0), Buffer.from('pilothouse backup pages xchacha20poly1305 v1'), 32));

/**
 * `n` fresh random 192-bit nonces in one draw, for sealing a run of page blobs: drawing them a blob
 * at a time took about 3.5 µs a blob (a call into OpenSSL's generator each). Each is used once;
 * at 192 bits, random nonces do not collide.
 */
export const randomNonces = (n: number): Buffer => randomBytes(NONCE_BYTES * n);

/** nonce ‖ XChaCha20-Poly1305(bytes) ‖ tag, with the page address bound in as `aad`. */
export function sealPage(key: Buffer, bytes: Buffer, aad: Buffer, nonce: Buffer): Buffer {
  const out = Buffer.allocUnsafe(NONCE_BYTES + bytes.length + MAC_BYTES);
  nonce.copy(out, 0, 0, NONCE_BYTES);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out.subarray(NONCE_BYTES), bytes, aad, null, out.subarray(0, NONCE_BYTES), key);
  return out;
}

/** The bytes `sealPage` sealed, or null when anything (key, aad, one bit of the blob) differs. */
export function openPage(key: Buffer, blob: Buffer, aad: Buffer): Buffer | null {
  if (blob.length < NONCE_BYTES + MAC_BYTES) return null;
  const out = Buffer.allocUnsafe(blob.length - NONCE_BYTES - MAC_BYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, blob.subarray(NONCE_BYTES), aad, blob.subarray(0, NONCE_BYTES), key);
    return out;
  } catch {
    return null;
  }
}

/** iv ‖ AES-256-GCM(bytes) ‖ tag, with `aad` bound in (a blob's page address, a manifest's id). */
export function seal(key: Buffer, bytes: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
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
