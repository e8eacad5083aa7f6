import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { BackupSnapshot, BackupSource } from './types';

const SOURCES = 'ph:backup:sources';
const SNAPSHOTS = 'ph:backup:snapshots';
/** The newest snapshots of each node that the fleet view carries; older ones stay listed on their node. */
const SNAPSHOTS_PER_NODE = 1000;

/** What the share reads from this node's catalogue. */
export interface CatalogueReader {
  listSources(): BackupSource[];
  listSnapshots(sourceId?: string, limit?: number): BackupSnapshot[];
}

/**
 * The backup catalogue, fleet-wide: each node publishes its sources (field `<node>/<source id>`,
 * since every node has its own `app` source) and its snapshots to Redis hashes, each entry
 * carrying the owning node. The node's SQLite stays the durable copy; the share is re-published
 * after every change and after Redis comes back empty. Entries of a node are replaced as a whole,
 * so what it removed disappears from the fleet view on its next publish.
 */
export class CatalogueShare {
  #publishing: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly redis: Redis,
    readonly node: string,
    private readonly catalogue: CatalogueReader,
    private readonly logger: Logger,
  ) {}

  /** Publishes this node's share soon (coalescing bursts of changes). */
  changed(): void {
    if (this.#publishing !== null) {
      this.#again = true;
      return;
    }
    this.#publishing = this.publish()
      .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'backup catalogue not shared through redis'))
      .finally(() => {
        this.#publishing = null;
        if (this.#again) {
          this.#again = false;
          this.changed();
        }
      });
  }

  /** Resolves once the publishes asked for so far are done. */
  async idle(): Promise<void> {
    while (this.#publishing !== null) await this.#publishing;
  }

  async publish(): Promise<void> {
    const sources = this.catalogue.listSources().map((s) => ({ ...s, node: this.node }));
    const snapshots = this.catalogue.listSnapshots(undefined, SNAPSHOTS_PER_NODE).map((s) => ({ ...s, node: this.node }));
    const [storedSources, storedSnapshots] = await Promise.all([this.#ownFields(SOURCES), this.#ownFields(SNAPSHOTS)]);
    const sourceFields = new Set(sources.map((s) => `${this.node}/${s.id}`));
    const snapshotFields = new Set(snapshots.map((s) => s.id));
    const multi = this.redis.multi();
    const staleSources = storedSources.filter((f) => !sourceFields.has(f));
    const staleSnapshots = storedSnapshots.filter((f) => !snapshotFields.has(f));
    if (staleSources.length > 0) multi.hdel(SOURCES, ...staleSources);
    if (staleSnapshots.length > 0) multi.hdel(SNAPSHOTS, ...staleSnapshots);
    if (sources.length > 0) multi.hset(SOURCES, Object.fromEntries(sources.map((s) => [`${this.node}/${s.id}`, JSON.stringify(s)])));
    if (snapshots.length > 0) multi.hset(SNAPSHOTS, Object.fromEntries(snapshots.map((s) => [s.id, JSON.stringify(s)])));
    await multi.exec();
  }

  /** Every node's sources, each with its owning node. */
  async sources(): Promise<BackupSource[]> {
    return parseAll<BackupSource>(await this.redis.hgetall(SOURCES)).sort(
      (a, b) => (a.node ?? '').localeCompare(b.node ?? '') || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
    );
  }

  /** Every node's snapshots (of one source when given), newest first. */
  async snapshots(sourceId: string | undefined, limit: number): Promise<BackupSnapshot[]> {
    return parseAll<BackupSnapshot>(await this.redis.hgetall(SNAPSHOTS))
      .filter((s) => sourceId === undefined || s.sourceId === sourceId)
      .sort((a, b) => b.capturedAt.localeCompare(a.capturedAt) || b.id.localeCompare(a.id))
      .slice(0, limit);
  }

  /** The node that owns a source, when exactly one does (each node's `app` source is its own). */
  async ownerOfSource(id: string): Promise<string | null> {
    const owners = (await this.sources()).filter((s) => s.id === id).map((s) => s.node as string);
    return owners.length === 1 ? (owners[0] as string) : null;
  }

  async ownerOfSnapshot(id: string): Promise<string | null> {
    const text = await this.redis.hget(SNAPSHOTS, id);
    return text === null ? null : ((JSON.parse(text) as BackupSnapshot).node ?? null);
  }

  /** Fields of the hash that this node published. */
  async #ownFields(hash: string): Promise<string[]> {
    const all = await this.redis.hgetall(hash);
    return Object.entries(all)
      .filter(([field, text]) => field.startsWith(`${this.node}/`) || (JSON.parse(text) as { node?: string }).node === this.node)
      .map(([field]) => field);
  }
}

function parseAll<T>(hash: Record<string, string>): T[] {
  const out: T[] = [];
  for (const text of Object.values(hash)) {
    try {
      out.push(JSON.parse(text) as T);
    } catch {
      // A value some other writer left: not ours to read.
    }
  }
  return out;
}
