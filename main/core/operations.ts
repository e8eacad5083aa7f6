import type { OperationInput, OperationName, OperationResult } from '../../contract/operations';
import type { Caller } from './caller';

export type OperationHandler<N extends OperationName> = (
  input: OperationInput<N>,
  caller: Caller,
) => OperationResult<N> | Promise<OperationResult<N>>;

/** A capability's share of the handlers; the composition root joins them into `OperationHandlers`. */
export type HandlersFor<K extends OperationName> = { [N in K]: OperationHandler<N> };
export type OperationHandlers = HandlersFor<OperationName>;

export interface OperationObserver {
  (event: { name: OperationName; durationMs: number; ok: boolean; code?: string }): void;
}
