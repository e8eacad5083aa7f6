import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync a directory so a rename or unlink in it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * `fsyncDir` off the event loop, for code placing several files at once: a directory's fsync waits
 * for a journal commit (with data=ordered, for the data of every file renamed into it), and on the
 * main thread that wait held up every other transfer under way.
 */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `bytes` to a temp path, fsyncs it, renames it over `path` and fsyncs the directory. */
export function writeFileAtomic(path: string, tempPath: string, bytes: Buffer): void {
  const fd = openSync(tempPath, 'w');
  try {
    writeFileSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tempPath, path);
  fsyncDir(dirname(path));
}
