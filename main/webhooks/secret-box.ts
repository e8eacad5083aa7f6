import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

const VERSION = 'v1.';
const NONCE = 12;
const TAG = 16;

/**
 * Endpoint signing secrets as they cross Redis and sit in the fleet's copy of the endpoint table:
 * AES-256-GCM under a key derived from the fleet secret (HKDF, `FleetSecrets.encryptionKey`), with
 * the endpoint id as associated data, so a ciphertext cannot be moved to another endpoint. The
 * fleet seal only signs; this is what keeps the secrets unreadable to whoever reads Redis or a
 * backup of the database. The nonce is an HMAC of the id and the plaintext: the same secrets seal
 * alike (a restart does not look like an edit to the replicated table), different ones never share
 * a nonce.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('A secret box takes a 32-byte key');
  }

  seal(endpointId: string, plain: string): string {
    const nonce = createHmac('sha256', this.key).update(endpointId).update('\0').update(plain).digest().subarray(0, NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(endpointId, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return VERSION + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** Null when it was not sealed with this key for this endpoint (another fleet secret, or moved). */
  open(endpointId: string, sealed: string): string | null {
    if (!sealed.startsWith(VERSION)) return null;
    const bytes = Buffer.from(sealed.slice(VERSION.length), 'base64url');
    if (bytes.length < NONCE + TAG) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, NONCE));
      decipher.setAAD(Buffer.from(endpointId, 'utf8'));
      decipher.setAuthTag(bytes.subarray(NONCE, NONCE + TAG));
      return Buffer.concat([decipher.update(bytes.subarray(NONCE + TAG)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
