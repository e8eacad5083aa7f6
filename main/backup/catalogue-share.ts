import type { TSchema } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import { BackupSnapshotSchema, BackupSourceSchema } from '../../contract/ops/backup';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { BackupSnapshot, BackupSource } from './types';

const SOURCES = 'ph:backup:sources';
const SNAPSHOTS = 'ph:backup:snapshots';
/** The newest snapshots of each node that the fleet view carries; older ones stay listed on their node. */
const SNAPSHOTS_PER_NODE = 1000;
const KIND = 'backup.catalogue';

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
 * so what it removed disappears from the fleet view on its next publish. Each entry is sealed with
 * the fleet secret and read back only if the node that sealed it is the node it names as owner.
 */
export class CatalogueShare {
  #publishing: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly redis: Redis,
    readonly node: string,
    private readonly catalogue: CatalogueReader,
    private readonly logger: Logger,
    private readonly seal: FleetSeal,
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
    const sealed = (hash: string, field: string, value: unknown): [string, string] => [
      field,
      this.seal.seal(KIND, `${hash}/${field}`, JSON.stringify(value)),
    ];
    if (sources.length > 0) multi.hset(SOURCES, Object.fromEntries(sources.map((s) => sealed(SOURCES, `${this.node}/${s.id}`, s))));
    if (snapshots.length > 0) multi.hset(SNAPSHOTS, Object.fromEntries(snapshots.map((s) => sealed(SNAPSHOTS, s.id, s))));
    await multi.exec();
  }

  /** Every node's sources, each with its owning node. */
  async sources(): Promise<BackupSource[]> {
    return this.#openAll<BackupSource>(SOURCES, BackupSourceSchema, await this.redis.hgetall(SOURCES)).sort(
      (a, b) => (a.node ?? '').localeCompare(b.node ?? '') || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
    );
  }

  /** Every node's snapshots (of one source when given), newest first. */
  async snapshots(sourceId: string | undefined, limit: number): Promise<BackupSnapshot[]> {
    return this.#openAll<BackupSnapshot>(SNAPSHOTS, BackupSnapshotSchema, await this.redis.hgetall(SNAPSHOTS))
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
    return text === null ? null : (this.#openAll<BackupSnapshot>(SNAPSHOTS, BackupSnapshotSchema, { [id]: text })[0]?.node ?? null);
  }

  /** Fields of the hash that this node published (or that are unreadable: they go too). */
  async #ownFields(hash: string): Promise<string[]> {
    const all = await this.redis.hgetall(hash);
    return Object.entries(all)
      .filter(([field, text]) => {
        const opened = this.seal.open(KIND, `${hash}/${field}`, text, false);
        return opened === null ? field.startsWith(`${this.node}/`) : opened.node === this.node;
      })
      .map(([field]) => field);
  }

  /** Entries sealed by a node of the fleet, of the declared shape, naming their sealer as owner. */
  #openAll<T extends { node?: string | undefined }>(hash: string, schema: TSchema, entries: Record<string, string>): T[] {
    const out: T[] = [];
    for (const [field, text] of Object.entries(entries)) {
      const opened = this.seal.openJson(KIND, `${hash}/${field}`, text, schema, false);
      const value = opened?.value as T | undefined;
      if (opened !== null && value !== undefined && value.node === opened.node) out.push(value);
    }
    return out;
  }
}
