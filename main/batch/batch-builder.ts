import type { BatchEngine, ApplyOptions } from './batch-engine';
import type { BatchMode, BatchOp, BatchReport, BatchSpec } from './batch-types';

/**
 * The fluent form of a batch for callers in code; `toJSON()` gives the JSON form the API takes.
 *
 *   await batch().atomic().create('record', { collection: 'hosts', name: 'a' }, 'a').delete('record', 'b', { collection: 'hosts' }).apply(engine)
 */
export class BatchBuilder {
  #mode: BatchMode = 'atomic';
  #continueOnError = true;
  readonly #ops: BatchOp[] = [];

  atomic(): this {
    this.#mode = 'atomic';
    return this;
  }

  /** Each operation commits on its own; `continueOnError: false` skips the rest after a failure. */
  nonAtomic(options: { continueOnError?: boolean } = {}): this {
    this.#mode = 'non-atomic';
    this.#continueOnError = options.continueOnError ?? true;
    return this;
  }

  create(resource: string, data: unknown, id?: string): this {
    return this.add(id === undefined ? { resource, action: 'create', data } : { resource, action: 'create', id, data });
  }

  update(resource: string, id: string, data: unknown): this {
    return this.add({ resource, action: 'update', id, data });
  }

  /** `data` for a resource that needs more than the id to find it (a `record` names its collection). */
  delete(resource: string, id: string, data?: unknown): this {
    return this.add(data === undefined ? { resource, action: 'delete', id } : { resource, action: 'delete', id, data });
  }

  custom(resource: string, name: string, data?: unknown, id?: string): this {
    const op: BatchOp = { resource, action: 'custom', name, data };
    return this.add(id === undefined ? op : { ...op, id });
  }

  add(op: BatchOp): this {
    this.#ops.push(op);
    return this;
  }

  get size(): number {
    return this.#ops.length;
  }

  toJSON(): BatchSpec {
    return this.#mode === 'atomic'
      ? { mode: 'atomic', operations: [...this.#ops] }
      : { mode: 'non-atomic', continueOnError: this.#continueOnError, operations: [...this.#ops] };
  }

  apply(engine: BatchEngine, options?: ApplyOptions): Promise<BatchReport> {
    return engine.apply(this.toJSON(), options);
  }
}

export function batch(): BatchBuilder {
  return new BatchBuilder();
}
