import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { removeImage } from './snapshotter';

const INTENTS = 'restoring';
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The temp file a restore into `target` rebuilds the image in (beside the target, so the rename is atomic). */
export function restoreTempPattern(target: string): RegExp {
  return new RegExp(`^\\.${escape(basename(target))}\\.restore-[0-9a-f]{8}\\.tmp(?:-wal|-shm|-journal)?$`);
}

/**
 * Notes in `<repo>/restoring/` which temp file a restore is about to create, before it creates it,
 * so a restore killed half-way leaves a record of what to remove; `done()` drops the note.
 */
export function recordRestoreIntent(repoDir: string, temp: string): { done: () => void } {
  const dir = join(repoDir, INTENTS);
  const note = join(dir, `${basename(temp)}.json`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(note, JSON.stringify({ temp }), { mode: 0o600, flag: 'w' });
  return { done: () => rmSync(note, { force: true }) };
}

/**
 * At start: removes the temp files (and their -wal/-shm/-journal) of restores that never finished.
 * Two lists say where they can be: the intent notes, and the folders of every target the catalogue
 * knows (source paths, earlier restore targets), where only names of the restore pattern for that
 * target are touched. Returns the paths removed.
 */
export function sweepRestoreLeftovers(repoDir: string, knownTargets: Iterable<string>): string[] {
  const removed: string[] = [];
  const dir = join(repoDir, INTENTS);
  let notes: string[] = [];
  try {
    notes = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    notes = [];
  }
  const targets = new Set(knownTargets);
  for (const note of notes) {
    try {
      const { temp } = JSON.parse(readFileSync(join(dir, note), 'utf8')) as { temp?: unknown };
      if (typeof temp === 'string') {
        // The pattern guards the note: only a restore temp name is ever removed, whatever the note says.
        const target = join(
          dirname(temp),
          basename(temp)
            .replace(/^\./, '')
            .replace(/\.restore-[0-9a-f]{8}\.tmp$/, ''),
        );
        if (restoreTempPattern(target).test(basename(temp))) targets.add(target);
      }
    } catch {
      // A note cut short by the crash names nothing we can trust; the folder scan still runs.
    }
    rmSync(join(dir, note), { force: true });
  }
  for (const target of targets) {
    const pattern = restoreTempPattern(target);
    let names: string[];
    try {
      names = readdirSync(dirname(target));
    } catch {
      continue;
    }
    for (const name of names) {
      if (!pattern.test(name)) continue;
      const path = join(dirname(target), name);
      removeImage(path);
      removed.push(path);
    }
  }
  return removed;
}
