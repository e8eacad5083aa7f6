import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

/**
 * A TypeBox schema as a plain TypeScript type, so the client's published types need no TypeBox:
 * the subset the contract uses (objects, arrays, tuples, unions, intersections, literals, records,
 * scalars). Anything else fails the build rather than turning into `unknown` unnoticed.
 */
export function tsType(schema: TSchema, indent = ''): string {
  const s = schema as TSchema & Record<string, unknown>;
  const kind = s[Kind] as string;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const description = (prop: TSchema) => (typeof prop.description === 'string' ? prop.description : null);
  switch (kind) {
    case 'String':
      return 'string';
    case 'Number':
    case 'Integer':
      return 'number';
    case 'Boolean':
      return 'boolean';
    case 'Null':
      return 'null';
    case 'Unknown':
    case 'Any':
      return 'unknown';
    case 'Union':
      return (s.anyOf as TSchema[]).map((m) => tsType(m, indent)).join(' | ');
    case 'Intersect':
      return (s.allOf as TSchema[]).map((m) => `(${tsType(m, indent)})`).join(' & ');
    case 'Array':
      return `Array<${tsType(s.items as TSchema, indent)}>`;
    case 'Tuple':
      return `[${((s.items as TSchema[] | undefined) ?? []).map((m) => tsType(m, indent)).join(', ')}]`;
    case 'Record': {
      const [pattern, value] = Object.entries(s.patternProperties as Record<string, TSchema>)[0] as [string, TSchema];
      const keyType = pattern === '^(0|[1-9][0-9]*)$' ? 'number' : 'string';
      return `Record<${keyType}, ${tsType(value, indent)}>`;
    }
    case 'Object': {
      const inner = `${indent}  `;
      const required = new Set<string>((s.required as string[] | undefined) ?? []);
      const lines = Object.entries(s.properties as Record<string, TSchema>).map(([name, prop]) => {
        const optional = !required.has(name) || (prop as unknown as Record<symbol, unknown>)[OptionalKind] === 'Optional';
        const text = description(prop);
        const doc = text === null ? '' : `${inner}/** ${text.replaceAll('*/', '* /')} */\n`;
        return `${doc}${inner}${key(name)}${optional ? '?' : ''}: ${tsType(prop, inner)};`;
      });
      return lines.length === 0 ? 'Record<string, never>' : `{\n${lines.join('\n')}\n${indent}}`;
    }
    default:
      throw new Error(`The client generator cannot express a ${kind} schema`);
  }
}
