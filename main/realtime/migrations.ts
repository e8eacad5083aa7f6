import type { Migration } from '../store';

export const realtimeMigrations: readonly Migration[] = [
  {
    scope: 'realtime',
    version: 1,
    name: 'room streams and history (single machine)',
    up: `
      CREATE TABLE realtime_rooms (
        room TEXT PRIMARY KEY,
        epoch TEXT NOT NULL,
        last_offset INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE realtime_history (
        room TEXT NOT NULL,
        offset INTEGER NOT NULL,
        at INTEGER NOT NULL,
        frame TEXT NOT NULL,
        PRIMARY KEY (room, offset)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    scope: 'realtime',
    version: 2,
    name: "the database's room epoch: where an empty room's first message will be numbered",
    up: `
      CREATE TABLE realtime_epoch (epoch TEXT NOT NULL) STRICT;
      INSERT INTO realtime_epoch (epoch) VALUES (lower(hex(randomblob(6))));
    `,
  },
];
