import { PhError } from '../../contract/errors';
import type { BatchOp, OpHandler, ResourceDefinition, Validator } from './batch-types';

/** Handlers, validators and hooks per resource type: other capabilities register theirs here. */
export class ResourceRegistry {
  readonly #types = new Map<string, ResourceDefinition>();

  register(resource: string, definition: ResourceDefinition): this {
    if (this.#types.has(resource)) throw new Error(`Resource type ${resource} is already registered`);
    this.#types.set(resource, definition);
    return this;
  }

  has(resource: string): boolean {
    return this.#types.has(resource);
  }

  get(resource: string): ResourceDefinition | undefined {
    return this.#types.get(resource);
  }

  names(): string[] {
    return [...this.#types.keys()].sort();
  }

  handlerFor(op: BatchOp): OpHandler {
    const def = this.#types.get(op.resource);
    if (def === undefined)
      throw new PhError('PH_BATCH_UNKNOWN_RESOURCE', `No resource type named ${JSON.stringify(op.resource)} is registered`);
    const handler = op.action === 'custom' ? (op.name === undefined ? undefined : def.handlers.custom?.[op.name]) : def.handlers[op.action];
    if (handler === undefined) {
      const what = op.action === 'custom' ? `custom action ${JSON.stringify(op.name ?? '')}` : op.action;
      throw new PhError('PH_BATCH_UNSUPPORTED_ACTION', `Resource type ${op.resource} has no ${what}`);
    }
    return handler;
  }

  validatorsFor(op: BatchOp): Validator[] {
    const v = this.#types.get(op.resource)?.validators;
    if (v === undefined) return [];
    const out: Validator[] = [];
    if (v['*'] !== undefined) out.push(v['*']);
    if (v[op.action] !== undefined) out.push(v[op.action] as Validator);
    return out;
  }
}
