import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events/event-bus';
import { toInstance, type Entry, type RegistryChange, type Replication, type Target } from './registry-entry';
import { RegistryStore } from './registry-store';
import { RegistryWatches } from './registry-watches';
import type { Instance, ServicePolicy } from './types';

/**
 * The registry's state, shared by its local writes and the changes applied from other nodes: the
 * entries in memory, their SQLite record, the watch index, the balancer's cache of passing
 * targets, and the listeners every change reaches.
 */
export class RegistryState {
  readonly entries = new Map<string, Entry>();
  readonly watches = new RegistryWatches();
  readonly #passing = new Map<string, readonly Target[]>();
  readonly #listeners = new Set<(change: RegistryChange) => void>();
  readonly #replicators = new Set<(message: Replication) => void>();
  #store: RegistryStore | null = null;
  #index = 0;

  constructor(
    readonly db: Database,
    readonly clock: Clock,
    readonly bus: EventBus,
  ) {}

  /** Prepares the statements (the tables exist only once migrations ran) and reads everything back; the policies are the caller's to keep. */
  load(): Map<string, ServicePolicy> {
    const store = new RegistryStore(this.db);
    const loaded = store.load();
    this.entries.clear();
    for (const [id, entry] of loaded.entries) this.entries.set(id, entry);
    this.#index = loaded.index;
    this.#passing.clear();
    this.watches.reopen();
    this.#store = store;
    return loaded.policies;
  }

  get store(): RegistryStore {
    if (this.#store === null) throw new Error('The registry is not loaded');
    return this.#store;
  }

  /** The sequence of the last real change. Watchers wait for it to pass theirs. */
  get index(): number {
    return this.#index;
  }

  get(id: string): Entry {
    const entry = this.entries.get(id);
    if (entry === undefined)
      throw new PhError('PH_DISCOVERY_NOT_FOUND', `There is no service instance with id ${JSON.stringify(id)}`, { field: 'id' });
    return entry;
  }

  /** Logs a change (inside the caller's transaction) and moves the index to it. */
  recordChange(kind: string, entry: Entry, detail: string | null): void {
    this.#index = this.store.recordChange(this.clock.now(), kind, entry, detail);
  }

  /** Drops the balancer's cached targets of a service whose instances or states changed. */
  invalidate(name: string): void {
    this.#passing.delete(name);
  }

  wake(name: string): void {
    this.watches.wake(name, this.#index);
  }

  passing(name: string): readonly Target[] {
    let list = this.#passing.get(name);
    if (list === undefined) {
      list = [...this.entries.values()]
        .filter((e) => e.name === name && e.state === 'passing')
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((e) => ({ id: e.id, name: e.name, address: e.address, port: e.port, weight: e.weight }));
      this.#passing.set(name, list);
    }
    return list;
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(change: RegistryChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  onReplicate(listener: (message: Replication) => void): () => void {
    this.#replicators.add(listener);
    return () => this.#replicators.delete(listener);
  }

  replicate(message: Replication): void {
    for (const listener of this.#replicators) listener(message);
  }

  /** The contract's view of an entry, with up to `historyLimit` status changes per check. */
  toInstance(entry: Entry, historyLimit = 0): Instance {
    if (historyLimit <= 0) return toInstance(entry, null);
    const store = this.store;
    return toInstance(entry, (checkId) => store.readHistory(entry.id, checkId, historyLimit));
  }
}
