import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Database } from 'better-sqlite3';
import { PersistedQuerySchema } from '../../contract/ops/graphql';
import type { Clock } from '../clock';
import type { ReplicaSource } from '../fleet';
import type { Migration } from '../store';

export type PersistedQuery = Static<typeof PersistedQuerySchema>;
/** A persisted query as the fleet carries it (its hash is the record's id). */
export const PersistedRecordSchema = Type.Omit(PersistedQuerySchema, ['hash']);
export const EnforcedRecordSchema = Type.Object({ enforced: Type.Boolean() });
type PersistedRecord = Static<typeof PersistedRecordSchema>;
type EnforcedRecord = Static<typeof EnforcedRecordSchema>;

export const graphqlMigrations: readonly Migration[] = [
  {
    scope: 'graphql',
    version: 1,
    name: 'persisted queries (the allow-list) and whether only they are accepted',
    up: `
      CREATE TABLE graphql_persisted (
        hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        query TEXT NOT NULL,
        saved_at TEXT NOT NULL
      ) STRICT;
      CREATE TABLE graphql_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
];

export const queryHash = (query: string): string => createHash('sha256').update(query).digest('hex');
const ENFORCED = 'enforced';

type Listener<T> = (id: string, value: T | null) => void;

/**
 * The persisted-query allow-list and its switch, fleet-wide (docs/fleet.md): each node's SQLite is
 * its copy, replicated tables carry edits between nodes. Held in memory too, since every GraphQL
 * request on a node in allow-list mode looks its query up.
 */
export class PersistedQueries {
  readonly #byHash = new Map<string, PersistedQuery>();
  #enforced = false;
  readonly #queryEdits = new Set<Listener<PersistedRecord>>();
  readonly #switchEdits = new Set<Listener<EnforcedRecord>>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    for (const row of db.prepare('SELECT hash, name, query, saved_at AS savedAt FROM graphql_persisted').all() as PersistedQuery[])
      this.#byHash.set(row.hash, row);
    const setting = db.prepare('SELECT value FROM graphql_settings WHERE name = ?').get(ENFORCED) as { value: string } | undefined;
    this.#enforced = setting?.value === 'true';
  }

  enforced(): boolean {
    return this.#enforced;
  }

  /** True when the exact text is on the allow-list. */
  allows(query: string): boolean {
    return this.#byHash.has(queryHash(query));
  }

  query(hash: string): string | undefined {
    return this.#byHash.get(hash)?.query;
  }

  list(): PersistedQuery[] {
    return [...this.#byHash.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  save(name: string, query: string): PersistedQuery {
    const record = { name, query, savedAt: new Date(this.clock.now()).toISOString() };
    const hash = queryHash(query);
    this.#write(hash, record);
    for (const listener of this.#queryEdits) listener(hash, record);
    return { hash, ...record };
  }

  delete(hash: string): boolean {
    if (!this.#byHash.has(hash)) return false;
    this.#write(hash, null);
    for (const listener of this.#queryEdits) listener(hash, null);
    return true;
  }

  enforce(enabled: boolean): void {
    this.#setEnforced(enabled);
    for (const listener of this.#switchEdits) listener(ENFORCED, { enforced: enabled });
  }

  replicaSources(): { queries: ReplicaSource<PersistedRecord>; enforced: ReplicaSource<EnforcedRecord> } {
    return {
      queries: {
        rows: () => this.list().map(({ hash, ...record }) => [hash, record] as const),
        apply: (hash, record) => this.#write(hash, record),
        onLocalChange: (listener) => {
          this.#queryEdits.add(listener);
          return () => this.#queryEdits.delete(listener);
        },
      },
      enforced: {
        rows: () => [[ENFORCED, { enforced: this.#enforced }] as const],
        apply: (_id, record) => this.#setEnforced(record?.enforced ?? false),
        onLocalChange: (listener) => {
          this.#switchEdits.add(listener);
          return () => this.#switchEdits.delete(listener);
        },
      },
    };
  }

  #write(hash: string, record: PersistedRecord | null): void {
    if (record === null) {
      this.db.prepare('DELETE FROM graphql_persisted WHERE hash = ?').run(hash);
      this.#byHash.delete(hash);
      return;
    }
    this.db
      .prepare(
        'INSERT INTO graphql_persisted (hash, name, query, saved_at) VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO UPDATE SET name = excluded.name, query = excluded.query, saved_at = excluded.saved_at',
      )
      .run(hash, record.name, record.query, record.savedAt);
    this.#byHash.set(hash, { hash, ...record });
  }

  #setEnforced(enabled: boolean): void {
    this.db
      .prepare('INSERT INTO graphql_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
      .run(ENFORCED, String(enabled));
    this.#enforced = enabled;
  }
}
