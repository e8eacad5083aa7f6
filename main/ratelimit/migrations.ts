import type { Migration } from '../store/migration';

export const ratelimitMigrations: readonly Migration[] = [
  {
    scope: 'ratelimit',
    version: 1,
    name: 'tiers and the tier of each API key',
    up: `
      CREATE TABLE ratelimit_tiers (
        name TEXT PRIMARY KEY,
        request_limit INTEGER,
        window_seconds INTEGER NOT NULL,
        burst INTEGER NOT NULL,
        builtin INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      INSERT INTO ratelimit_tiers (name, request_limit, window_seconds, burst, builtin) VALUES
        ('free', 300, 60, 60, 1),
        ('basic', 1200, 60, 300, 1),
        ('premium', 6000, 60, 1500, 1),
        ('unlimited', NULL, 60, 0, 1);

      -- Keyed by the API key's id; no foreign key, since keys belong to the security capability.
      CREATE TABLE ratelimit_key_tiers (
        key_id TEXT PRIMARY KEY,
        tier TEXT NOT NULL REFERENCES ratelimit_tiers (name) ON UPDATE CASCADE
      ) STRICT;
    `,
  },
];
