import type { Static, TSchema } from '@sinclair/typebox';
import type { Role } from './roles';

/**
 * One console operation, declared once: the main process implements it, the preload exposes it
 * over IPC and the embedded server over `POST /api/v2/ops/<name>`.
 */
export interface OperationDef<I extends TSchema = TSchema, O extends TSchema = TSchema> {
  readonly summary: string;
  readonly input: I;
  readonly output: O;
  /** The least role that may call it. */
  readonly minRole: Role;
  /** Mutating operations are written to the audit log, with their outcome. */
  readonly mutating: boolean;
}

export function defineOperation<I extends TSchema, O extends TSchema>(def: OperationDef<I, O>): OperationDef<I, O> {
  return def;
}

export type InputOf<D> = D extends OperationDef<infer I, TSchema> ? Static<I> : never;
export type OutputOf<D> = D extends OperationDef<TSchema, infer O> ? Static<O> : never;
