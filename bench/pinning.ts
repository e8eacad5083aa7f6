import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Keeps a load generator and the server it loads on different cores (Linux `taskset`), so that
 * which core a process happens to share stops deciding its figures: unpinned, processes of one
 * server differed here by up to a sixth for their whole life; pinned, by under a tenth. The server
 * gets the last core, the bench process the first. With one core, or without `taskset`, nothing
 * is pinned and `PINNED` says so.
 */
const CORES = availableParallelism();
const SERVER_CORE = String(CORES - 1);
const LOAD_CORE = '0';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const PINNED = CORES >= 2 && hasTaskset();

/** The command and arguments that start a server child on the server core: `taskset -c <core> node …`, or `node …` unpinned. */
export function serverCommand(nodeArgs: readonly string[]): { command: string; args: string[] } {
  return PINNED
    ? { command: 'taskset', args: ['-c', SERVER_CORE, process.execPath, ...nodeArgs] }
    : { command: process.execPath, args: [...nodeArgs] };
}

/** Runs `work` with every thread of this process on the load core, then gives it every core back. */
export async function onLoadCore<T>(work: () => Promise<T>): Promise<T> {
  if (!PINNED) return work();
  execFileSync('taskset', ['-a', '-cp', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
  try {
    return await work();
  } finally {
    execFileSync('taskset', ['-a', '-cp', `0-${CORES - 1}`, String(process.pid)], { stdio: 'ignore' });
  }
}
