import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock';
import type { BatchOp, ResourceDefinition } from './batch-types';

interface RecordData {
  collection?: unknown;
  [key: string]: unknown;
}

/**
 * The built-in resource type `record`: small JSON documents in named collections, so LAN programs
 * (and the console) can submit batches without registering a resource of their own.
 * `data.collection` names the collection; the rest of `data` is the document.
 */
export function recordResource(clock: Clock): ResourceDefinition {
  const collectionOf = (op: BatchOp): string => (op.data as RecordData).collection as string;
  const exists = (db: Database, collection: string, id: string): boolean =>
    db.prepare('SELECT 1 FROM batch_records WHERE collection = ? AND id = ?').get(collection, id) !== undefined;
  return {
    validators: {
      '*': (op) => {
        if (typeof op.data !== 'object' || op.data === null || Array.isArray(op.data)) return 'data must be an object with a collection';
        const collection = (op.data as RecordData).collection;
        if (typeof collection !== 'string' || collection.length === 0 || collection.length > 100)
          return 'data.collection must be a string of 1 to 100 characters';
        if (op.action !== 'create' && (op.id === undefined || op.id === '')) return `${op.action} needs an id`;
        return null;
      },
    },
    handlers: {
      create: (op, ctx) => {
        const id = op.id ?? `${ctx.batchId}:${ctx.index}`;
        const { collection, ...doc } = op.data as RecordData;
        const added = ctx.db
          .prepare('INSERT INTO batch_records (collection, id, data, version, updated_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT DO NOTHING')
          .run(collection as string, id, JSON.stringify(doc), clock.now());
        // Said in our words: SQLite's own ("UNIQUE constraint failed: …") names tables and columns.
        if (added.changes === 0) throw new Error(`A record ${id} already exists in ${collection as string}`);
        return { id, version: 1 };
      },
      update: (op, ctx) => {
        const { collection, ...doc } = op.data as RecordData;
        const row = ctx.db
          .prepare(
            'UPDATE batch_records SET data = ?, version = version + 1, updated_at = ? WHERE collection = ? AND id = ? RETURNING version',
          )
          .get(JSON.stringify(doc), clock.now(), collection as string, op.id as string) as { version: number } | undefined;
        if (row === undefined) throw new Error(`No record ${op.id as string} in ${collection as string}`);
        return { id: op.id, version: row.version };
      },
      delete: (op, ctx) => {
        const collection = collectionOf(op);
        if (!exists(ctx.db, collection, op.id as string)) throw new Error(`No record ${op.id as string} in ${collection}`);
        ctx.db.prepare('DELETE FROM batch_records WHERE collection = ? AND id = ?').run(collection, op.id as string);
        return { id: op.id };
      },
    },
  };
}
