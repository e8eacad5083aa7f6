import type { Static, TSchema } from '@sinclair/typebox';
import type { Role } from './roles';

/**
 * How a mutating operation reaches the audit log. `each`: one row per call (control-plane changes:
 * keys, roles, sources, restores, rules, services, config). `counted`: data-plane traffic from LAN
 * programs (cache writes, job enqueues, publishes); calls are counted per actor, operation and
 * outcome and written as one row per minute with the count, so a busy program cannot flood the log.
 */
export type AuditMode = 'each' | 'counted';

interface OperationBase<I extends TSchema, O extends TSchema> {
  readonly summary: string;
  readonly input: I;
  readonly output: O;
  /** The least role that may call it. */
  readonly minRole: Role;
}

/** Mutating operations are written to the audit log, with their outcome, as their `audit` mode says. */
type Mutation = { readonly mutating: true; readonly audit: AuditMode } | { readonly mutating: false; readonly audit?: never };

/**
 * One console operation, declared once: the main process implements it, the preload exposes it
 * over IPC and the embedded server over `POST /api/v2/ops/<name>`.
 */
export type OperationDef<I extends TSchema = TSchema, O extends TSchema = TSchema> = OperationBase<I, O> & Mutation;

export function defineOperation<I extends TSchema, O extends TSchema>(def: OperationDef<I, O>): OperationDef<I, O> {
  return def;
}

export type InputOf<D> = D extends OperationDef<infer I, TSchema> ? Static<I> : never;
export type OutputOf<D> = D extends OperationDef<TSchema, infer O> ? Static<O> : never;
