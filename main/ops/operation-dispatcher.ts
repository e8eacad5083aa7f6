import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { PhError } from '../../contract/errors';
import { isOperationName, operations, type OperationInput, type OperationName, type OperationResult } from '../../contract/operations';
import { roleAllows } from '../../contract/roles';
import type { AuditLog } from '../security/audit-log';
import type { Caller } from '../security/caller';
import { registerFormats } from './formats';

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

/**
 * The one path every console operation takes, whatever the transport: look up, authorize, validate
 * the input at the boundary, run, and audit mutating calls with their outcome.
 */
export class OperationDispatcher {
  readonly #checks = new Map<OperationName, TypeCheck<TSchema>>();

  constructor(
    private readonly handlers: OperationHandlers,
    private readonly audit: AuditLog,
    private readonly observe: OperationObserver = () => undefined,
  ) {
    registerFormats();
  }

  async call(name: string, input: unknown, caller: Caller): Promise<unknown> {
    if (!isOperationName(name)) throw new PhError('PH_UNKNOWN_OPERATION', `There is no operation named ${JSON.stringify(name)}`);
    const def = operations[name];
    if (!roleAllows(caller.role, def.minRole)) {
      throw new PhError('PH_FORBIDDEN', `${name} needs the ${def.minRole} role; this caller is ${caller.role}`);
    }
    const args = input ?? {};
    this.#validate(name, args);
    const started = performance.now();
    try {
      const result = await (this.handlers[name] as (i: unknown, c: Caller) => unknown)(args, caller);
      this.observe({ name, durationMs: performance.now() - started, ok: true });
      if (def.mutating) this.audit.append({ actor: caller.actor, action: name, target: targetOf(args), outcome: 'ok' });
      return result;
    } catch (err) {
      const code = err instanceof PhError ? err.code : 'PH_INTERNAL';
      this.observe({ name, durationMs: performance.now() - started, ok: false, code });
      if (def.mutating) this.audit.append({ actor: caller.actor, action: name, target: targetOf(args), outcome: 'error', detail: code });
      throw err;
    }
  }

  #validate(name: OperationName, input: unknown): void {
    let check = this.#checks.get(name);
    if (check === undefined) {
      check = TypeCompiler.Compile(operations[name].input);
      this.#checks.set(name, check);
    }
    if (check.Check(input)) return;
    const first = check.Errors(input).First();
    const field = first?.path.replace(/^\//, '').replaceAll('/', '.') || 'input';
    throw new PhError('PH_INVALID_INPUT', `Field "${field}": ${first?.message ?? 'invalid'}`, { field });
  }
}

/** What the audit row names as the thing changed: the id or name in the input, when there is one. */
function targetOf(input: unknown): string | null {
  if (typeof input !== 'object' || input === null) return null;
  const record = input as Record<string, unknown>;
  for (const key of ['id', 'name', 'key']) {
    if (typeof record[key] === 'string') return record[key];
  }
  return null;
}
