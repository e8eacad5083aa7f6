import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../contract/errors';
import { events } from '../../contract/events';
import { operationChannel } from '../../contract/ipc';
import { operations } from '../../contract/operations';
import { routeTable } from '../../contract/routes';
import { versionChangeTable } from '../../contract/versions';
import { apiChangelog } from '../../contract/versions/changelog';
import { buildContractSchema } from '../../main/graphql';

describe('the contract', () => {
  it('matches the reviewed snapshot of every operation, event and error code', () => {
    const surface = {
      operations: Object.fromEntries(
        Object.entries(operations).map(([name, def]) => [
          name,
          {
            minRole: def.minRole,
            mutating: def.mutating,
            audit: def.audit ?? null,
            channel: operationChannel(name as keyof typeof operations),
            input: def.input,
            output: def.output,
          },
        ]),
      ),
      events: Object.fromEntries(Object.entries(events).map(([name, def]) => [name, { minRole: def.minRole, payload: def.payload }])),
      errors: errorCatalogue,
      routes: routeTable(),
      versionChanges: versionChangeTable(),
    };
    expect(JSON.parse(JSON.stringify(surface))).toMatchSnapshot();
  });

  it('names every error code PH_ with a 4xx or 5xx status', () => {
    for (const [code, def] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^PH_[A-Z0-9_]+$/);
      expect(def.status).toBeGreaterThanOrEqual(400);
      expect(def.status).toBeLessThan(600);
    }
  });

  it('declares how every mutating operation is audited, and no audit mode on a read', () => {
    for (const def of Object.values(operations)) {
      if (def.mutating) expect(['each', 'counted']).toContain(def.audit);
      else expect(def.audit).toBeUndefined();
    }
  });

  it('bounds every integer an operation takes, so no number a caller sends overflows a store binding into a 500', () => {
    const unbounded: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      if (!schema || typeof schema !== 'object') return;
      const s = schema as Record<string, unknown>;
      if (s.type === 'integer' && typeof s.maximum !== 'number') unbounded.push(path);
      if (s.properties) for (const [key, child] of Object.entries(s.properties)) walk(child, `${path}.${key}`);
      if (s.items) walk(s.items, `${path}[]`);
      for (const key of ['anyOf', 'oneOf', 'allOf'])
        if (Array.isArray(s[key])) (s[key] as unknown[]).forEach((child, i) => walk(child, `${path}|${i}`));
      if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}{}`);
    };
    for (const [name, def] of Object.entries(operations)) walk(def.input, name);
    expect(unbounded).toEqual([]);
  });

  it('names operations <capability>.<verb> so each maps to one IPC channel and one URL', () => {
    for (const name of Object.keys(operations)) expect(name).toMatch(/^[a-z]+(\.[a-zA-Z]+)+$/);
  });

  it('prints the GraphQL schema generated from it: every shape expressible, the SDL as reviewed in docs/graphql/schema.graphql', async () => {
    // buildContractSchema throws InexpressibleShapeError, naming the path, for a shape GraphQL cannot express.
    await expect(`${printSchema(buildContractSchema())}\n`).toMatchFileSnapshot('../../docs/graphql/schema.graphql');
  });

  it('writes docs/api-changelog.md from the version changes, as scripts/api-changelog.ts generates it', async () => {
    await expect(apiChangelog()).toMatchFileSnapshot('../../docs/api-changelog.md');
  });
});
