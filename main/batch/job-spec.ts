import { PhError } from '../../contract/errors';
import type { JobSpec } from './job-types';

export const MAX_PAYLOAD_BYTES = 256 * 1024;
const MAX_CHILDREN = 1000;

/** Checks what the schema cannot (ranges that depend on each other, payload size, child trees) for every backend alike. */
export function validateJobSpec(spec: JobSpec, path = ''): void {
  const fail = (field: string, message: string): never => {
    throw new PhError('PH_INVALID_INPUT', `Field "${path}${field}": ${message}`, { field: `${path}${field}` });
  };
  if (typeof spec.type !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(spec.type))
    fail('type', 'letters, digits and _.:- only, 1 to 100 characters');
  if (spec.priority !== undefined && !(Number.isInteger(spec.priority) && spec.priority >= -100 && spec.priority <= 100))
    fail('priority', 'an integer from -100 to 100');
  if (spec.attempts !== undefined && !(Number.isInteger(spec.attempts) && spec.attempts >= 1 && spec.attempts <= 100))
    fail('attempts', 'an integer from 1 to 100');
  if (spec.delayMs !== undefined && !(Number.isFinite(spec.delayMs) && spec.delayMs >= 0)) fail('delayMs', 'zero or more');
  if (spec.backoffMs !== undefined && !(Number.isFinite(spec.backoffMs) && spec.backoffMs >= 0)) fail('backoffMs', 'zero or more');
  if (spec.timeoutMs !== undefined && !(Number.isInteger(spec.timeoutMs) && spec.timeoutMs >= 1)) fail('timeoutMs', 'a positive integer');
  if (
    spec.idempotencyKey !== undefined &&
    !(typeof spec.idempotencyKey === 'string' && spec.idempotencyKey.length >= 1 && spec.idempotencyKey.length <= 200)
  ) {
    fail('idempotencyKey', '1 to 200 characters');
  }
  if (spec.repeat !== undefined && spec.children !== undefined && spec.children.length > 0)
    fail('repeat', 'a repeating job cannot have children');
  const size = Buffer.byteLength(JSON.stringify(spec.payload ?? null));
  if (size > MAX_PAYLOAD_BYTES)
    throw new PhError('PH_PAYLOAD_TOO_LARGE', `The payload is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES}`);
  if (spec.children !== undefined) {
    if (spec.children.length > MAX_CHILDREN) fail('children', `at most ${MAX_CHILDREN}`);
    spec.children.forEach((child, i) => validateJobSpec(child, `${path}children.${i}.`));
  }
}

/** The spec with each job's payload passed through its type's `prepare` (children too). */
export function prepareSpec<S extends JobSpec>(spec: S, prepareFor: (type: string) => ((payload: unknown) => unknown) | undefined): S {
  const prepare = prepareFor(spec.type);
  const children = spec.children?.map((c) => prepareSpec(c, prepareFor));
  if (prepare === undefined && children === undefined) return spec;
  return {
    ...spec,
    ...(prepare !== undefined ? { payload: prepare(spec.payload) } : {}),
    ...(children !== undefined ? { children } : {}),
  };
}
