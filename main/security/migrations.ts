import type { Database } from 'better-sqlite3';
import type { Migration } from '../store';

/**
 * Versions before security v2 kept the session signing secret in `settings`, inside the file every
 * snapshot copies: an operator who could download a snapshot could sign an admin session. The row is
 * deleted with `secure_delete` on, so its bytes are zeroed rather than left in a free page, and the
 * secret is not carried over: tokens from then carry no `jti` and are refused anyway, and a secret
 * that old snapshots hold must not stay valid. The new one lives in the secret store.
 */
function dropSigningSecretFromDatabase(db: Database): void {
  const previous = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    db.prepare("DELETE FROM settings WHERE key = 'session_signing_key'").run();
  } finally {
    db.pragma(`secure_delete = ${previous === 1 ? 'ON' : 'OFF'}`);
  }
}

export const securityMigrations: readonly Migration[] = [
  {
    scope: 'security',
    version: 1,
    name: 'api keys, audit log, settings',
    up: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        scopes TEXT NOT NULL DEFAULT '[]',
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
      ) STRICT;

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
      ) STRICT;
    `,
  },
  {
    scope: 'security',
    version: 2,
    name: 'ended sessions; signing secret out of the database',
    up: (db) => {
      db.exec(`
        CREATE TABLE ended_sessions (
          jti TEXT PRIMARY KEY,
          expires_at INTEGER NOT NULL
        ) STRICT;
      `);
      dropSigningSecretFromDatabase(db);
    },
  },
  {
    scope: 'security',
    version: 3,
    name: "other nodes' audit rows, for one fleet-wide trail",
    up: `
      CREATE TABLE audit_remote (
        node TEXT NOT NULL,
        seq INTEGER NOT NULL,
        chain_from INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (node, seq)
      ) STRICT;
      CREATE INDEX audit_remote_at ON audit_remote (at);
      CREATE TRIGGER audit_remote_no_update BEFORE UPDATE ON audit_remote
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_remote_no_delete BEFORE DELETE ON audit_remote
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `,
  },
  {
    scope: 'security',
    version: 4,
    name: 'audit retention: anchors of the rows cut, deletes allowed up to them only',
    up: `
      -- The last row cut by retention (seq and hash): the chain verifies from the row after it.
      -- The signed head file vouches for it too, so an anchor written behind Pilothouse's back shows.
      CREATE TABLE audit_anchor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        cut_at TEXT NOT NULL
      ) STRICT;
      DROP TRIGGER IF EXISTS audit_log_no_delete;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        WHEN old.seq > coalesce((SELECT seq FROM audit_anchor WHERE id = 1), 0)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

      -- The same for this node's copy of each other node's chain.
      CREATE TABLE audit_remote_anchor (
        node TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      DROP TRIGGER IF EXISTS audit_remote_no_delete;
      CREATE TRIGGER audit_remote_no_delete BEFORE DELETE ON audit_remote
        WHEN old.seq > coalesce((SELECT seq FROM audit_remote_anchor WHERE node = old.node), 0)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `,
  },
  {
    scope: 'security',
    version: 5,
    name: 'api keys pinned to a REST version',
    // NULL: the key follows the latest version.
    up: `ALTER TABLE api_keys ADD COLUMN api_version TEXT;`,
  },
  {
    scope: 'security',
    version: 6,
    name: 'OAuth grants (refresh-token families)',
    up: `
      -- One row per grant: the fleet table's record as JSON (docs/oauth.md), and when it expires, for pruning.
      CREATE TABLE oauth_grants (
        id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX oauth_grants_expiry ON oauth_grants (expires_at);
    `,
  },
];
