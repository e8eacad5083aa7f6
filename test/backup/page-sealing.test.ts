import { randomBytes } from 'node:crypto';
import { valueSymbol } from 'piscina';
import { describe, expect, it } from 'vitest';
import { compressPages, expandPages, hashPages } from '../../main/backup/page-worker';
import { NONCE_BYTES, SEALED, XCHACHA, seal } from '../../main/backup/repo-crypto';

const PAGE = 4096;

/** The worker hands its buffers back as piscina transferables; called directly, the value is inside. */
const unwrap = <T>(result: T): T => ((result as Record<symbol, T>)[valueSymbol] ?? result) as T;

describe('sealing page blobs', () => {
  it('gives every blob of a run its own nonce, even for equal pages, and each opens back to its page', () => {
    const n = 64;
    const buf = Buffer.alloc(n * PAGE);
    // Half the pages equal, half different: equal pages must not share a nonce either.
    for (let i = n / 2; i < n; i += 1) buf.write(`row ${i} `.repeat(40), i * PAGE);
    const mac = randomBytes(32);
    const sealKey = randomBytes(32);
    const hashes = unwrap(hashPages({ buf, pageSize: PAGE, mac }));
    const sealed = unwrap(compressPages({ buf, pageSize: PAGE, level: 2, sealKey, hashes }));

    const nonces = new Set<string>();
    let off = 0;
    for (const length of sealed.lengths) {
      nonces.add(Buffer.from(sealed.blobs.subarray(off, off + NONCE_BYTES)).toString('hex'));
      off += length;
    }
    expect(nonces.size).toBe(n);
    expect([...sealed.codecs].every((c) => (c & (SEALED | XCHACHA)) === (SEALED | XCHACHA))).toBe(true);

    const back = unwrap(
      expandPages({ blobs: sealed.blobs, lengths: sealed.lengths, codecs: sealed.codecs, pageSize: PAGE, want: hashes, sealKey, mac }),
    );
    expect(back.bad).toEqual([]);
    expect(Buffer.from(back.pages).equals(buf)).toBe(true);
  });

  it('still opens a blob sealed with AES-256-GCM, as repositories wrote them before, and refuses one sealed to another address', () => {
    const page = Buffer.alloc(PAGE);
    page.write('an older repository '.repeat(50));
    const mac = randomBytes(32);
    const sealKey = randomBytes(32);
    const address = Buffer.from(unwrap(hashPages({ buf: page, pageSize: PAGE, mac })));
    // Stored raw (codec 0) and sealed the old way: the codec byte has SEALED and not XCHACHA.
    const blob = seal(sealKey, page, address);
    const open = (want: Buffer) =>
      unwrap(
        expandPages({
          blobs: blob,
          lengths: Uint32Array.of(blob.length),
          codecs: Uint8Array.of(SEALED),
          pageSize: PAGE,
          want,
          sealKey,
          mac,
        }),
      );
    const back = open(address);
    expect(back.bad).toEqual([]);
    expect(Buffer.from(back.pages).equals(page)).toBe(true);
    expect(open(randomBytes(32)).bad).toEqual([0]);
  });
});
