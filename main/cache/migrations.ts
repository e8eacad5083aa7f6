import type { Migration } from '../store';

export const cacheMigrations: readonly Migration[] = [
  {
    scope: 'cache',
    version: 1,
    name: 'L3 cache entries and namespace generations',
    up: `
      CREATE TABLE cache_entries (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        fresh_until INTEGER NOT NULL,
        stale_until INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        size INTEGER NOT NULL,
        accessed_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX cache_entries_stale_until ON cache_entries (stale_until);
      CREATE INDEX cache_entries_accessed_at ON cache_entries (accessed_at);

      CREATE TABLE cache_generations (
        namespace TEXT PRIMARY KEY,
        generation INTEGER NOT NULL
      ) STRICT;
    `,
  },
];
