import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** A process that has a file open, as /proc shows it. */
export interface OpenHolder {
  readonly pid: number;
  readonly command: string;
}

/**
 * The processes other than this one that hold `path` (or its -wal, -shm or -journal file) open,
 * found the way `fuser` finds them: every /proc/<pid>/fd link is read and compared with the file's
 * real path. This sees an idle SQLite connection in any journal mode, which SQLite's own locks do
 * not (a rollback-mode connection holds no lock between transactions). It sees every process of
 * the same user, and every process when run as root; processes of other users whose fd folder is
 * unreadable are not seen. Returns null where there is no /proc (not Linux): the caller then relies
 * on SQLite's locks alone.
 */
export function findOpenHolders(path: string): OpenHolder[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const wanted = new Set<string>();
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    try {
      wanted.add(realpathSync(`${path}${suffix}`));
    } catch {
      // A side file that does not exist cannot be held open.
    }
  }
  if (wanted.size === 0) return [];
  const holders: OpenHolder[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    if (holdsAny(pid, wanted)) holders.push({ pid: Number(pid), command: commandOf(pid) });
  }
  return holders;
}

function holdsAny(pid: string, wanted: ReadonlySet<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(join('/proc', pid, 'fd'));
  } catch {
    return false; // gone, or another user's process we may not look into
  }
  for (const fd of fds) {
    try {
      if (wanted.has(readlinkSync(join('/proc', pid, 'fd', fd)))) return true;
    } catch {
      // The fd closed while we looked.
    }
  }
  return false;
}

function commandOf(pid: string): string {
  try {
    return readFileSync(join('/proc', pid, 'comm'), 'utf8').trim();
  } catch {
    return '?';
  }
}
