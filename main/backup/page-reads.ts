import type { PackHandles } from './pack-files';
import type { PageLocation, PageRepository } from './page-repository';
import { TurnBudget } from './turn-budget';

/**
 * Reads the stored blobs for `hashes` (32 bytes each), in order, with one read per run of adjacent
 * blobs in a pack. `missing` lists indexes whose hash is not in the index or whose pack is gone.
 */
export async function readBlobs(
  repo: PageRepository,
  hashes: Buffer,
  handles: PackHandles,
): Promise<{ blobs: Buffer; lengths: Uint32Array; codecs: Uint8Array; missing: number[] }> {
  const n = hashes.length / 32;
  const locs: (PageLocation | undefined)[] = [];
  // One index lookup a page: a chunk's worth runs over a few event-loop turns, not one.
  const budget = new TurnBudget(repo.turnBudgetMs);
  for (let i = 0; i < n; i += 1) {
    if (budget.spent()) await budget.yieldTurn();
    locs.push(repo.locate(hashes.subarray(i * 32, i * 32 + 32)));
  }
  const order = locs.map((_, i) => i).filter((i) => locs[i] !== undefined);
  order.sort((a, b) => {
    const la = locs[a] as PageLocation;
    const lb = locs[b] as PageLocation;
    return la.pack < lb.pack ? -1 : la.pack > lb.pack ? 1 : la.offset - lb.offset;
  });
  const pieces: (Buffer | undefined)[] = new Array(n);
  const missing: number[] = locs.flatMap((l, i) => (l === undefined ? [i] : []));
  let k = 0;
  while (k < order.length) {
    const first = locs[order[k] as number] as PageLocation;
    let end = first.offset + first.length;
    let j = k + 1;
    while (j < order.length) {
      const l = locs[order[j] as number] as PageLocation;
      if (l.pack !== first.pack || l.offset > end || end - first.offset > 8 * 1024 * 1024) break;
      end = Math.max(end, l.offset + l.length);
      j += 1;
    }
    const buf = Buffer.allocUnsafe(end - first.offset);
    let got = 0;
    try {
      const fh = await handles.get(first.pack);
      got = (await fh.read(buf, 0, buf.length, first.offset)).bytesRead;
    } catch {
      got = 0;
    }
    for (let m = k; m < j; m += 1) {
      const idx = order[m] as number;
      const l = locs[idx] as PageLocation;
      const start = l.offset - first.offset;
      if (start + l.length > got) missing.push(idx);
      else pieces[idx] = buf.subarray(start, start + l.length);
    }
    k = j;
  }
  const lengths = new Uint32Array(n);
  const codecs = new Uint8Array(n);
  for (let i = 0; i < n; i += 1) {
    lengths[i] = pieces[i]?.length ?? 0;
    codecs[i] = locs[i]?.codec ?? 0;
  }
  // Array.from, not map: `pieces` has holes where a read came up short, and map skips holes.
  const blobs = adjacent(pieces) ?? Buffer.concat(Array.from(pieces, (p) => p ?? Buffer.alloc(0)));
  return { blobs, lengths, codecs, missing: missing.sort((a, b) => a - b) };
}

/**
 * The pieces as one buffer without copying when they already lie back to back in one read (a
 * snapshot's pages stored in page order, as a first snapshot stores them); otherwise null, and the
 * caller concatenates. A hole (a read that came up short) is never adjacent.
 */
function adjacent(pieces: (Buffer | undefined)[]): Buffer | null {
  const first = pieces[0];
  if (first === undefined) return null;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < pieces.length; i += 1) {
    const p = pieces[i];
    if (p === undefined || p.buffer !== first.buffer || p.byteOffset !== end) return null;
    end += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}
