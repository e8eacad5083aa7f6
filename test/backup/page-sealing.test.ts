import { randomBytes } from 'node:crypto';
import { valueSymbol } from 'piscina';
import { describe, expect, it } from 'vitest';
import { compressPages, expandPages, hashPages } from '../../main/backup/page-worker';
import { IV_BYTES } from '../../main/backup/repo-crypto';

const PAGE = 4096;

/** The worker hands its buffers back as piscina transferables; called directly, the value is inside. */
const unwrap = <T>(result: T): T => ((result as Record<symbol, T>)[valueSymbol] ?? result) as T;

/** Page blobs sealed a run at a time draw their IVs in one go: each blob must still have its own. */
describe('sealing a run of page blobs', () => {
  it('gives every blob its own IV, even for equal pages, and each opens back to its page', () => {
    const n = 64;
    const buf = Buffer.alloc(n * PAGE);
    // Half the pages equal, half different: equal pages must not share an IV either.
    for (let i = n / 2; i < n; i += 1) buf.write(`row ${i} `.repeat(40), i * PAGE);
    const mac = randomBytes(32);
    const sealKey = randomBytes(32);
    const hashes = unwrap(hashPages({ buf, pageSize: PAGE, mac }));
    const sealed = unwrap(compressPages({ buf, pageSize: PAGE, level: 2, sealKey, hashes }));

    const ivs = new Set<string>();
    let off = 0;
    for (const length of sealed.lengths) {
      ivs.add(Buffer.from(sealed.blobs.subarray(off, off + IV_BYTES)).toString('hex'));
      off += length;
    }
    expect(ivs.size).toBe(n);

    const back = unwrap(
      expandPages({
        blobs: sealed.blobs,
        lengths: sealed.lengths,
        codecs: sealed.codecs,
        pageSize: PAGE,
        want: hashes,
        sealKey,
        mac,
      }),
    );
    expect(back.bad).toEqual([]);
    expect(Buffer.from(back.pages).equals(buf)).toBe(true);
  });
});
