import type { Database } from 'better-sqlite3';

/** The triggers that make `audit_log` append-only, by name, exactly as they must read. */
const TRIGGERS: Record<string, string> = {
  audit_log_no_update: `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
  // Retention may cut rows up to the anchor (audit-retention.ts), never past it.
  audit_log_no_delete: `CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        WHEN old.seq > coalesce((SELECT seq FROM audit_anchor WHERE id = 1), 0)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
};

const normalise = (sql: string): string => sql.replace(/\s+/g, ' ').trim();

/**
 * Checks the append-only triggers are there and unchanged, and re-creates any that were dropped or
 * altered (anyone who can write the file can do either). Returns the names it had to restore.
 */
export function ensureAuditTriggers(db: Database): string[] {
  const present = new Map(
    (
      db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").all() as {
        name: string;
        sql: string;
      }[]
    ).map((t) => [t.name, normalise(t.sql)]),
  );
  const restored: string[] = [];
  db.transaction(() => {
    for (const [name, sql] of Object.entries(TRIGGERS)) {
      if (present.get(name) === normalise(sql)) continue;
      db.exec(`DROP TRIGGER IF EXISTS ${name}`);
      db.exec(sql);
      restored.push(name);
    }
  })();
  return restored;
}
