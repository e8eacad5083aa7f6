import type { Database } from 'better-sqlite3';
import type { Migration } from '../store';
import { defaultAlertRules } from './default-rules';

export const monitoringMigrations: readonly Migration[] = [
  {
    scope: 'monitoring',
    version: 1,
    name: 'metric history, alert rules and events, usage, write probe',
    up: (db: Database) => {
      db.exec(`
        -- res is the resolution in seconds: 10 (raw samples), 60 and 3600 (roll-ups). avg/min/max/n
        -- let a roll-up be rolled up again with the right weights.
        CREATE TABLE monitoring_samples (
          res INTEGER NOT NULL,
          series TEXT NOT NULL,
          ts INTEGER NOT NULL,
          avg REAL NOT NULL,
          min REAL NOT NULL,
          max REAL NOT NULL,
          n INTEGER NOT NULL,
          PRIMARY KEY (res, series, ts)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX monitoring_samples_by_time ON monitoring_samples (res, ts);

        CREATE TABLE monitoring_alert_rules (
          id TEXT PRIMARY KEY,
          rule TEXT NOT NULL,
          builtin INTEGER NOT NULL DEFAULT 0
        ) STRICT;

        CREATE TABLE monitoring_alert_events (
          id INTEGER PRIMARY KEY,
          at INTEGER NOT NULL,
          rule_id TEXT NOT NULL,
          name TEXT NOT NULL,
          severity TEXT NOT NULL,
          state TEXT NOT NULL,
          value REAL,
          message TEXT NOT NULL
        ) STRICT;
        CREATE INDEX monitoring_alert_events_by_rule ON monitoring_alert_events (rule_id, id);

        CREATE TABLE monitoring_usage (
          minute INTEGER NOT NULL,
          key_id TEXT NOT NULL,
          route TEXT NOT NULL,
          requests INTEGER NOT NULL,
          errors INTEGER NOT NULL,
          bytes_in INTEGER NOT NULL,
          bytes_out INTEGER NOT NULL,
          PRIMARY KEY (minute, key_id, route)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE monitoring_probe (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          at INTEGER NOT NULL
        ) STRICT;
      `);
      const insert = db.prepare('INSERT INTO monitoring_alert_rules (id, rule, builtin) VALUES (?, ?, 1)');
      for (const rule of defaultAlertRules) insert.run(rule.id, JSON.stringify(rule));
    },
  },
  {
    scope: 'monitoring',
    version: 2,
    name: 'usage per rate-limit tier, with refusals',
    up: `
      ALTER TABLE monitoring_usage ADD COLUMN tier TEXT NOT NULL DEFAULT '';
      ALTER TABLE monitoring_usage ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    scope: 'monitoring',
    version: 3,
    name: 'calls per key and operation, for the operations audited by count',
    up: `
      CREATE TABLE monitoring_op_usage (
        minute INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        operation TEXT NOT NULL,
        calls INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        PRIMARY KEY (minute, key_id, operation)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    scope: 'monitoring',
    version: 4,
    name: 'the backup replica lag rule, for nodes seeded before it existed',
    up: (db) => {
      const rule = defaultAlertRules.find((r) => r.id === 'backup-replica-lagging');
      if (rule !== undefined)
        db.prepare('INSERT OR IGNORE INTO monitoring_alert_rules (id, rule, builtin) VALUES (?, ?, 1)').run(rule.id, JSON.stringify(rule));
    },
  },
  {
    scope: 'monitoring',
    version: 5,
    name: 'acknowledgements and silences of alerts, one record per rule',
    up: `
      CREATE TABLE monitoring_alert_silences (
        rule_id TEXT PRIMARY KEY,
        record TEXT NOT NULL
      ) STRICT;
    `,
  },
];
