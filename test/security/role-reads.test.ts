import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { serverEndpoints } from '../../contract/endpoints';
import { events } from '../../contract/events';
import { operations } from '../../contract/operations';

type Access = 'public' | 'viewer' | 'operator' | 'admin';
const ACCESS: readonly Access[] = ['public', 'viewer', 'operator', 'admin'];

/** docs/security.md's "Every read, by least role": per row, the names in each column, sorted. */
function documentedReads(): Record<Access, { operations: string[]; events: string[]; endpoints: string[] }> {
  const text = readFileSync(resolve(import.meta.dirname, '../../docs/security.md'), 'utf8');
  const section = text.split('### Every read, by least role')[1]?.split(/\n#{2,3} /)[0] ?? '';
  const rows = Object.fromEntries(
    ACCESS.map((a) => [a, { operations: [] as string[], events: [] as string[], endpoints: [] as string[] }]),
  );
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const role = cells[1] as Access;
    if (!ACCESS.includes(role)) continue;
    const names = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string).sort();
    rows[role] = { operations: names(cells[2]), events: names(cells[3]), endpoints: names(cells[4]) };
  }
  return rows as Record<Access, { operations: string[]; events: string[]; endpoints: string[] }>;
}

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

  it('lists in docs/security.md every read operation, event and server endpoint in the row of its least role', () => {
    const documented = documentedReads();
    for (const access of ACCESS) {
      const reads = Object.entries(operations)
        .filter(([, def]) => !def.mutating && def.minRole === access)
        .map(([name]) => name)
        .sort();
      const heard = Object.entries(events)
        .filter(([, def]) => def.minRole === access)
        .map(([name]) => name)
        .sort();
      const endpoints = [...new Set(serverEndpoints.filter((e) => e.access === access).map((e) => e.path))].sort();
      expect(documented[access], access).toEqual({ operations: reads, events: heard, endpoints });
    }
    // The comparison has something to compare: the viewer row is not empty.
    expect(documented.viewer.operations).toContain('jobs.get');
  });
});
