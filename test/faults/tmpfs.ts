import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp-dir';

/** A small tmpfs of its own (the tests run as root), so a full disk is a real ENOSPC. */
export interface SmallDisk {
  readonly path: string;
  /** Fills what is left with a filler file, to the last byte. */
  fill(): void;
  /** Deletes the filler: the disk has room again. */
  free(): void;
  unmount(): void;
}

export function mountSmallDisk(sizeMiB: number): SmallDisk {
  const dir = tempDir('ph-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir.path]);
  const filler = join(dir.path, 'filler');
  return {
    path: dir.path,
    fill() {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(64 * 1024, 0x5a);
      try {
        for (let size = block.length; size >= 1;) {
          try {
            writeSync(fd, block, 0, size);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            size = Math.floor(size / 2);
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler, { force: true }),
    unmount() {
      execFileSync('umount', ['-l', dir.path]);
      dir.remove();
    },
  };
}
