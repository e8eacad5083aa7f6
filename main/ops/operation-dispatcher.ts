import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { PhError } from '../../contract/errors';
import type { AuditMode } from '../../contract/operation';
import { isOperationName, operations, type OperationName } from '../../contract/operations';
import { roleAllows } from '../../contract/roles';
import type { AuditTrail, CallCounter, Caller, OperationHandlers, OperationObserver } from '../core';
import { registerFormats } from './formats';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth';

/**
 * The one path every console operation takes, whatever the transport: look up, authorize, validate
 * the input at the boundary, run, and audit mutating calls with their outcome: one row each, or, for
 * an operation whose audit mode is `counted`, a tally the counter writes out once a minute.
 */
export class OperationDispatcher {
  readonly #checks = new Map<OperationName, TypeCheck<TSchema>>();

  constructor(
    private readonly handlers: OperationHandlers,
    private readonly audit: AuditTrail,
    private readonly observe: OperationObserver = () => undefined,
    /** Takes the calls of `counted` operations; without one they are audited one row each. */
    private readonly counter: CallCounter | null = null,
  ) {
    registerFormats();
  }

  async call(name: string, input: unknown, caller: Caller): Promise<unknown> {
    if (!isOperationName(name)) throw new PhError('PH_UNKNOWN_OPERATION', `There is no operation named ${JSON.stringify(name)}`);
    const def = operations[name];
    let args: unknown;
    try {
      args = this.#admit(name, input, caller);
    } catch (err) {
      // Refused before it ran (the role, the input): tallied a minute at a time whatever the operation's
      // mode, so a lower-role key's attempts are on record and a key that keeps knocking cannot flood the log.
      if (def.mutating) this.#audit('counted', name, input, caller, err instanceof PhError ? err.code : 'PH_INTERNAL');
      throw err;
    }
    const started = performance.now();
    try {
      const result = await (this.handlers[name] as (i: unknown, c: Caller) => unknown)(args, caller);
      this.observe({ name, durationMs: performance.now() - started, ok: true });
      if (def.mutating) this.#audit(def.audit, name, args, caller, null, result);
      return result;
    } catch (err) {
      const code = err instanceof PhError ? err.code : 'PH_INTERNAL';
      this.observe({ name, durationMs: performance.now() - started, ok: false, code });
      if (def.mutating) this.#audit(def.audit, name, args, caller, code);
      throw err;
    }
  }

  /** The input the handler gets, once the caller's role and the input itself pass. */
  #admit(name: OperationName, input: unknown, caller: Caller): unknown {
    const def = operations[name];
    if (!roleAllows(caller.role, def.minRole)) {
      throw new PhError('PH_FORBIDDEN', `${name} needs the ${def.minRole} role; this caller is ${caller.role}`);
    }
    // No input at all means `{}`; a JSON `null` is a value, and not an object.
    if (input === null) throw new PhError('PH_INVALID_INPUT', `${name} takes a JSON object, not null`, { field: 'input' });
    const args = input ?? {};
    if (nestsDeeperThan(args)) throw new PhError('PH_JSON_TOO_DEEP', `The input nests deeper than ${MAX_JSON_DEPTH} levels`);
    this.#validate(name, args);
    return args;
  }

  /** `result`: a successful call's answer, whose new id is the row's target when the input names none (`webhooks.create`). */
  #audit(mode: AuditMode, name: OperationName, args: unknown, caller: Caller, code: string | null, result?: unknown): void {
    const outcome = code === null ? 'ok' : 'error';
    if (mode === 'counted' && this.counter !== null) {
      this.counter.count({ actor: caller.actor, keyId: caller.keyId, action: name, outcome, code });
      return;
    }
    const target = targetOf(args) ?? createdIdOf(result);
    this.audit.append({ actor: caller.actor, action: name, target, outcome, ...(code === null ? {} : { detail: code }) });
  }

  #validate(name: OperationName, input: unknown): void {
    let check = this.#checks.get(name);
    if (check === undefined) {
      check = TypeCompiler.Compile(operations[name].input);
      this.#checks.set(name, check);
    }
    if (check.Check(input)) return;
    const first = check.Errors(input).First();
    // A key a record refuses is named by the record, not by itself: the key may be 30,000 characters.
    const badKey = first !== undefined && isRecordKeyError(first);
    const path = badKey ? first.path.slice(0, first.path.lastIndexOf('/')) : (first?.path ?? '');
    const field = path.replace(/^\//, '').replaceAll('/', '.') || 'input';
    const words = first === undefined ? 'invalid' : badKey ? `a key is not allowed: ${lowerFirst(describe(first))}` : inWords(first);
    throw new PhError('PH_INVALID_INPUT', `Field "${field}": ${words}`, { field });
  }
}

/**
 * A refusal a person can act on: a pattern or a choice of shapes says, as the checker words it, only
 * "Expected string to match '^[a-z0-9][a-z0-9_-]*$'"; the schema's description says it in words.
 */
function inWords(error: ValueError): string {
  const described = (error.schema as { description?: unknown }).description;
  const cryptic = error.type === ValueErrorType.StringPattern || error.type === ValueErrorType.Union;
  return cryptic && typeof described === 'string' ? `must be ${lowerFirst(described)}` : error.message;
}

/** A record (patternProperties) refusing a key that does not match its key pattern. */
function isRecordKeyError(error: ValueError): boolean {
  return error.type === ValueErrorType.ObjectAdditionalProperties && 'patternProperties' in (error.schema as object);
}

const describe = (error: ValueError): string => {
  const described = (error.schema as { description?: unknown }).description;
  return typeof described === 'string' ? described : error.message;
};

const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);

/**
 * What the audit row names as the thing changed: the id, name, cache entry or key in the input, when
 * there is one; else the thing an input points at by id (`ruleId`, `sourceId`), or the id or name of
 * the object it carries (`{ tier: { name } }`, `{ rule: { id } }`). Without a target a row of the
 * audit log says what was done but not to what.
 */
function targetOf(input: unknown): string | null {
  if (typeof input !== 'object' || input === null) return null;
  const record = input as Record<string, unknown>;
  for (const key of ['id', 'name']) {
    if (typeof record[key] === 'string') return record[key];
  }
  // Cache entries: `<namespace>/<key>`, or the namespace alone.
  if (typeof record.namespace === 'string') return typeof record.key === 'string' ? `${record.namespace}/${record.key}` : record.namespace;
  if (typeof record.key === 'string') return record.key;
  for (const key of POINTER_FIELDS) {
    if (typeof record[key] === 'string') return record[key];
  }
  for (const key of CARRIER_FIELDS) {
    const carried = record[key];
    if (typeof carried !== 'object' || carried === null) continue;
    const { id, name } = carried as Record<string, unknown>;
    if (typeof id === 'string') return id;
    if (typeof name === 'string') return name;
  }
  return null;
}

/** Inputs that name their target by another thing's id. */
const POINTER_FIELDS = ['ruleId', 'sourceId', 'snapshotId'] as const;
/** Inputs that carry the whole object they save, whose id or name is the target. */
const CARRIER_FIELDS = ['tier', 'rule'] as const;

/** The id of what a call made: `{ id }`, or the first object of the answer with one (`{ endpoint: { id } }`). */
function createdIdOf(result: unknown): string | null {
  if (typeof result !== 'object' || result === null) return null;
  const record = result as Record<string, unknown>;
  if (typeof record.id === 'string') return record.id;
  for (const value of Object.values(record)) {
    if (typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string')
      return (value as { id: string }).id;
  }
  return null;
}
