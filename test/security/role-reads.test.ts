import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { events } from '../../contract/events';
import { operations } from '../../contract/operations';

/** Field names that hold credentials or key material: what would let a reader act as someone else. */
const SECRET_FIELD = /secret|token|password|passphrase|signing|hmac|private|credential|apikey|bearer/i;

/** True when the schema (or a branch of its union) is a string: where key material would travel. */
const holdsText = (schema: TSchema): boolean => {
  const s = schema as Record<string, unknown>;
  return s.type === 'string' || ((s.anyOf as TSchema[] | undefined) ?? []).some(holdsText);
};

/** Every text-valued property in a schema, with its path, through objects, arrays, unions and records. */
function fieldPaths(schema: TSchema, path = ''): string[] {
  const out: string[] = [];
  const s = schema as Record<string, unknown>;
  for (const [name, child] of Object.entries((s.properties as Record<string, TSchema> | undefined) ?? {})) {
    if (holdsText(child)) out.push(`${path}${name}`);
    out.push(...fieldPaths(child, `${path}${name}.`));
  }
  if (s.items !== undefined) out.push(...fieldPaths(s.items as TSchema, `${path}[].`));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
    for (const child of (s[key] as TSchema[] | undefined) ?? []) out.push(...fieldPaths(child, path));
  for (const child of Object.values((s.patternProperties as Record<string, TSchema> | undefined) ?? {}))
    out.push(...fieldPaths(child, `${path}*.`));
  if (typeof s.additionalProperties === 'object') out.push(...fieldPaths(s.additionalProperties as TSchema, `${path}*.`));
  return out;
}

const secretFields = (schema: TSchema): string[] => fieldPaths(schema).filter((p) => SECRET_FIELD.test(p.split('.').at(-1) ?? ''));

describe('what each role can read, from the contract', () => {
  it('returns secret-looking fields only from admin operations', () => {
    const exposed = Object.entries(operations)
      .filter(([, def]) => secretFields(def.output).length > 0)
      .map(([name, def]) => ({ name, minRole: def.minRole, fields: secretFields(def.output) }));
    // The scan does find what it looks for: the one operation that hands out a secret.
    expect(exposed).toContainEqual({ name: 'keys.create', minRole: 'admin', fields: ['secret'] });
    for (const op of exposed) expect(op, `${op.name} returns ${op.fields.join(', ')}`).toMatchObject({ minRole: 'admin' });
  });

  it('carries no secret-looking field in any event a viewer or operator receives', () => {
    for (const [name, def] of Object.entries(events)) {
      if (def.minRole === 'admin') continue;
      expect(secretFields(def.payload), name).toEqual([]);
    }
  });

  it('keeps key management, session rotation and the key list admin-only', () => {
    for (const name of ['keys.list', 'keys.create', 'keys.revoke', 'sessions.rotate'] as const)
      expect(operations[name].minRole, name).toBe('admin');
  });
});
