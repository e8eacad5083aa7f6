import { createHash } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';

/** A hash of the crash target's schema and every row of its table, in id order. */
export function rowsDigest(path: string): string {
  const db = new BetterSqlite3(path, { fileMustExist: true });
  try {
    const hash = createHash('sha256');
    for (const row of db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all()) hash.update(JSON.stringify(row));
    const hasTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 't'").get() !== undefined;
    if (hasTable) for (const row of db.prepare('SELECT id, hex(v) AS v FROM t ORDER BY id').iterate()) hash.update(JSON.stringify(row));
    return hash.digest('hex');
  } finally {
    db.close();
  }
}
