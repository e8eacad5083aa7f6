import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { PhError } from '../../contract/errors';
import { JobSpecSchema } from '../../contract/ops/jobs';
import type { ChildSpec, JobSpec } from './job-types';

const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * The contract's job spec, compiled once: every backend checks what it enqueues against it,
 * whoever enqueues. The schema describes a job and its children; capabilities may nest flows
 * deeper, so each further level of children is checked against the schema's list of children.
 */
const specCheck = TypeCompiler.Compile(JobSpecSchema);
const childrenCheck = TypeCompiler.Compile(JobSpecSchema.properties.children);

function assertSchema(check: TypeCheck<TSchema>, value: unknown, prefix: string): void {
  if (check.Check(value)) return;
  const first = check.Errors(value).First();
  const field =
    [prefix, first?.path.replace(/^\//, '').replaceAll('/', '.')].filter((part) => part !== undefined && part !== '').join('.') || 'spec';
  throw new PhError('PH_INVALID_INPUT', `Field "${field}": ${first?.message ?? 'invalid'}`, { field });
}

/** Children as the schema sees them: their own children are checked one level down. */
const shallow = (children: readonly ChildSpec[]) => children.map(({ children: _nested, ...child }) => child);

/** What a schema cannot state: a repeating job has no children, and a payload's encoded size. */
function assertRules(spec: JobSpec, payloads: readonly unknown[], prefix: string): void {
  if (spec.repeat !== undefined && spec.children !== undefined && spec.children.length > 0) {
    throw new PhError('PH_INVALID_INPUT', `Field "${prefix}repeat": a repeating job cannot have children`, { field: `${prefix}repeat` });
  }
  for (const payload of payloads) {
    const size = Buffer.byteLength(JSON.stringify(payload ?? null));
    if (size > MAX_PAYLOAD_BYTES)
      throw new PhError('PH_PAYLOAD_TOO_LARGE', `The payload is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES}`);
  }
}

function assertNested(child: ChildSpec, prefix: string): void {
  if (child.children === undefined) return;
  assertSchema(childrenCheck, shallow(child.children), `${prefix}children`);
  assertRules(
    child,
    child.children.map((grandchild) => grandchild.payload),
    prefix,
  );
  child.children.forEach((grandchild, i) => assertNested(grandchild, `${prefix}children.${i}.`));
}

/**
 * Checks a job spec and its children against the contract's schema and the rules beside it.
 * `runAt` and `createdBy` are the queue's own fields (the server sets the creator, a caller cannot).
 */
export function validateJobSpec(spec: JobSpec): void {
  const { runAt: _runAt, createdBy: _createdBy, children, ...own } = spec;
  assertSchema(specCheck, children === undefined ? own : { ...own, children: shallow(children) }, '');
  assertRules(spec, [spec.payload, ...(children ?? []).map((child) => child.payload)], '');
  children?.forEach((child, i) => assertNested(child, `children.${i}.`));
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
