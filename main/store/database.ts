import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Migration } from './migration';
import { ensureIncrementalVacuum } from './vacuum';
import { assertWalHasItsDatabase } from './wal-guard';

/** Written into the SQLite header (`PRAGMA application_id`) so a stray file is never mistaken for ours. */
export const PILOTHOUSE_APPLICATION_ID = 0x50484f55; // "PHOU"
/** The layout of the bookkeeping table itself; bumped only if `schema_migrations` changes shape. */
export const STORE_FORMAT_VERSION = 1;

export interface OpenStoreOptions {
  readonly path: string;
  readonly migrations: readonly Migration[];
  readonly readonly?: boolean;
}

/**
 * Opens (or creates) the app's database: WAL, synchronous=NORMAL, foreign keys on, then runs every
 * migration not yet applied, each in its own transaction. Refuses files that are not ours and
 * databases written by newer code, before touching them.
 */
export function openStore(options: OpenStoreOptions): Database {
  try {
    mkdirSync(dirname(options.path), { recursive: true });
  } catch (err) {
    throw storeFault(err, dirname(options.path)) ?? err;
  }
  if (options.readonly !== true) assertWalHasItsDatabase(options.path);
  let db: Database;
  try {
    db = new BetterSqlite3(options.path, { readonly: options.readonly ?? false });
    db.pragma('schema_version'); // forces SQLite to read the header, so a non-database fails here
  } catch (err) {
    throw (
      storeFault(err, options.path) ?? new PhError('PH_STORE_NOT_PILOTHOUSE', `${options.path} is not a SQLite database`, { cause: err })
    );
  }
  try {
    claimOrCheckIdentity(db, options.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    runMigrations(db, options.migrations);
    if (options.readonly !== true) ensureIncrementalVacuum(db);
    return db;
  } catch (err) {
    db.close();
    throw storeFault(err, options.path) ?? err;
  }
}

/**
 * The store's file-level failures as catalogue codes naming the path: a folder or file this process
 * may not write (or create) is a permission problem, not a foreign file; a malformed database is
 * corrupt, not "not ours"; a full disk is a full disk. Null for anything else.
 */
export function storeFault(err: unknown, path: string): PhError | null {
  const code = String((err as { code?: unknown }).code ?? '');
  const reason = (err as Error).message;
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code.startsWith('SQLITE_READONLY'))
    return new PhError(
      'PH_PERMISSION_DENIED',
      `Pilothouse may not create or write ${path} (${code}: ${reason}); fix its owner or mode, or pick another --data-dir`,
      {
        details: { path },
        cause: err,
      },
    );
  if (code.startsWith('SQLITE_CORRUPT'))
    return new PhError('PH_FILE_CORRUPT', `${path} is damaged (${reason}); restore it from a backup`, { details: { path }, cause: err });
  if (code === 'SQLITE_FULL' || code === 'ENOSPC')
    return new PhError('PH_DISK_FULL', `The disk under ${path} is full`, { details: { path }, cause: err });
  return null;
}

function claimOrCheckIdentity(db: Database, path: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const format = db.pragma('user_version', { simple: true }) as number;
  if (appId === PILOTHOUSE_APPLICATION_ID) {
    if (format > STORE_FORMAT_VERSION) {
      throw new PhError('PH_STORE_TOO_NEW', `${path} has store format ${format}; this Pilothouse reads up to ${STORE_FORMAT_VERSION}`);
    }
    return;
  }
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number };
  if (appId !== 0 || tables.n > 0) {
    throw new PhError('PH_STORE_NOT_PILOTHOUSE', `${path} is a SQLite database that Pilothouse did not create`);
  }
  // Before the first table: retention's freed pages can then go back to the file system (vacuum.ts).
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma(`application_id = ${PILOTHOUSE_APPLICATION_ID}`);
  db.pragma(`user_version = ${STORE_FORMAT_VERSION}`);
  db.exec(`CREATE TABLE schema_migrations (
    scope TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (scope, version)
  ) STRICT`);
}

function runMigrations(db: Database, migrations: readonly Migration[]): void {
  const byScope = new Map<string, Migration[]>();
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version < 1) throw new Error(`Migration ${m.scope}/${m.name} has a bad version`);
    const list = byScope.get(m.scope) ?? [];
    if (list.some((other) => other.version === m.version)) throw new Error(`Two migrations share ${m.scope}/${m.version}`);
    list.push(m);
    byScope.set(m.scope, list);
  }
  const applied = new Map<string, number>();
  for (const row of db.prepare('SELECT scope, max(version) AS v FROM schema_migrations GROUP BY scope').all() as {
    scope: string;
    v: number;
  }[]) {
    applied.set(row.scope, row.v);
  }
  for (const [scope, version] of applied) {
    const known = Math.max(0, ...(byScope.get(scope) ?? []).map((m) => m.version));
    if (version > known) {
      throw new PhError('PH_STORE_TOO_NEW', `The database has ${scope} schema ${version}; this Pilothouse knows up to ${known}`);
    }
  }
  const record = db.prepare('INSERT INTO schema_migrations (scope, version, name, applied_at) VALUES (?, ?, ?, ?)');
  for (const [scope, list] of byScope) {
    const current = applied.get(scope) ?? 0;
    for (const m of list.sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      db.transaction(() => {
        if (typeof m.up === 'string') db.exec(m.up);
        else m.up(db);
        record.run(scope, m.version, m.name, new Date().toISOString());
      })();
    }
  }
}

/** The highest applied version per scope: the schema version the console shows. */
export function schemaVersions(db: Database): Record<string, number> {
  const rows = db.prepare('SELECT scope, max(version) AS v FROM schema_migrations GROUP BY scope').all() as {
    scope: string;
    v: number;
  }[];
  return Object.fromEntries(rows.map((r) => [r.scope, r.v]));
}
