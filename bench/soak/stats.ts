import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

/** Bytes under a folder, files that vanish between the listing and the stat not counted. */
export function folderBytes(path: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = join(path, entry.name);
    try {
      total += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
    } catch {
      // A temp file that went between the listing and the stat.
    }
  }
  return total;
}

/** A file's size, 0 when it is not there (a WAL between checkpoints). */
export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Least-squares slope per minute of `value` over samples taken at `at` ms. */
export function slopePerMinute<S extends { at: number }>(samples: readonly S[], value: (s: S) => number): number {
  const n = samples.length;
  if (n < 2) return 0;
  const xs = samples.map((s) => s.at / 60_000);
  const ys = samples.map(value);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function p99(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}
