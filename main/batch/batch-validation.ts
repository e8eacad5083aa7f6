/**
 * What can refuse a batch's operations before their handlers run: the resources' validators and
 * beforeBatch hooks, and the lookup of each operation's handler. An atomic batch collects every
 * refusal by index and rolls back with them (`Refused`); a non-atomic one checks one operation at a time.
 */
import type { Database } from 'better-sqlite3';
import type { ResourceRegistry } from './batch-registry';
import { errorOf } from './batch-reports';
import type { BatchMode, BatchOp, OpContext, OpHandler, ResourceHooks, Validator } from './batch-types';

export interface Refusal {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

/** Thrown inside the atomic transaction to roll it back with every refusal by index. */
export class Refused extends Error {
  constructor(readonly errors: Refusal[]) {
    super('batch refused');
  }
}

interface Step {
  readonly handler: OpHandler | null;
  readonly refusal: { code: string; message: string } | null;
  readonly validators: readonly Validator[];
  readonly before: ResourceHooks['beforeOperation'];
}

/** Handler, validators and hook of each (resource, action, name), looked up once per batch, not once per operation. */
export class PlanCache {
  readonly #steps = new Map<string, Step>();
  constructor(private readonly registry: ResourceRegistry) {}

  of(op: BatchOp): Step {
    const key = `${op.resource}\u0000${op.action}\u0000${op.name ?? ''}`;
    let step = this.#steps.get(key);
    if (step === undefined) {
      try {
        step = {
          handler: this.registry.handlerFor(op),
          refusal: null,
          validators: this.registry.validatorsFor(op),
          before: this.registry.get(op.resource)?.hooks?.beforeOperation,
        };
      } catch (err) {
        step = { handler: null, refusal: errorOf(err, 'PH_BATCH_VALIDATION_FAILED'), validators: [], before: undefined };
      }
      this.#steps.set(key, step);
    }
    return step;
  }
}

/** Runs each resource's beforeBatch hook once, with that resource's operations; in an atomic batch a throw refuses the batch. */
export function beforeBatch(registry: ResourceRegistry, db: Database, ops: readonly BatchOp[], batchId: string, mode: BatchMode): void {
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.resource)) continue;
    seen.add(op.resource);
    const hook = registry.get(op.resource)?.hooks?.beforeBatch;
    if (hook === undefined) continue;
    try {
      hook(
        ops.filter((o) => o.resource === op.resource),
        { db, batchId, mode },
      );
    } catch (err) {
      if (mode === 'atomic') throw new Refused([{ index: ops.indexOf(op), ...errorOf(err, 'PH_BATCH_VALIDATION_FAILED') }]);
      throw err;
    }
  }
}

/** Every operation's refusal (an unknown handler, a validator's message or throw), by index; empty when all pass. */
export function validateAll(ops: readonly BatchOp[], ctx: { db: Database; batchId: string; index: number }, plan: PlanCache): Refusal[] {
  const refusals: Refusal[] = [];
  for (let i = 0; i < ops.length; i += 1) {
    ctx.index = i;
    const op = ops[i] as BatchOp;
    const step = plan.of(op);
    if (step.refusal !== null) {
      refusals.push({ index: i, ...step.refusal });
      continue;
    }
    try {
      for (const validator of step.validators) {
        const message = validator(op, ctx);
        if (typeof message === 'string') {
          refusals.push({ index: i, code: 'PH_BATCH_VALIDATION_FAILED', message });
          break;
        }
      }
    } catch (err) {
      refusals.push({ index: i, ...errorOf(err, 'PH_BATCH_VALIDATION_FAILED') });
    }
  }
  return refusals;
}

/** One operation's refusal, or null when its handler exists and every validator passes. */
export function validateOne(registry: ResourceRegistry, op: BatchOp, ctx: OpContext): { code: string; message: string } | null {
  try {
    registry.handlerFor(op);
    for (const validator of registry.validatorsFor(op)) {
      const message = validator(op, ctx);
      if (typeof message === 'string') return { code: 'PH_BATCH_VALIDATION_FAILED', message };
    }
    return null;
  } catch (err) {
    return errorOf(err, 'PH_BATCH_VALIDATION_FAILED');
  }
}
