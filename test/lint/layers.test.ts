import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** Lints `code` as if it were the file at `filePath`, with the project's own config; answers the import rule's messages. */
async function importErrors(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: process.cwd() });
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layers of main/, as lint enforces them', () => {
  it('refuses a deep import into another folder', async () => {
    const errors = await importErrors(
      'main/cache/example.ts',
      "import type { Migration } from '../store/migration';\nexport type M = Migration;\n",
    );
    expect(errors).toEqual([expect.stringContaining('through its index')]);
  });

  it('refuses an import up the layers, the edge a folder cycle would need', async () => {
    const errors = await importErrors('main/ops/example.ts', "import type { AuditLog } from '../security';\nexport type A = AuditLog;\n");
    expect(errors).toEqual([
      expect.stringContaining('main/ops may import only folders of a lower layer (core, events, store, redis, fleet)'),
    ]);
  });

  it('refuses an import across one layer, so two folders of a layer cannot depend on each other', async () => {
    const errors = await importErrors('main/http/example.ts', "import { Metrics } from '../monitoring';\nexport const m = Metrics;\n");
    expect(errors).toEqual([expect.stringContaining('main/http may import only folders of a lower layer')]);
  });

  it('places graphql/ beside the capabilities: the dispatcher below it, the hub beside it', async () => {
    const down = await importErrors(
      'main/graphql/example.ts',
      "import type { OperationDispatcher } from '../ops';\nexport type D = OperationDispatcher;\n",
    );
    expect(down).toEqual([]);
    const across = await importErrors(
      'main/graphql/example.ts',
      "import type { RealtimeHub } from '../realtime';\nexport type H = RealtimeHub;\n",
    );
    expect(across).toEqual([expect.stringContaining('main/graphql may import only folders of a lower layer')]);
  });

  it('refuses a deep import from the composition root', async () => {
    const errors = await importErrors('main/index.ts', "export { registerIpcBridge } from './desktop/ipc-bridge';\n");
    expect(errors).toEqual([expect.stringContaining('through its index')]);
  });

  it("keeps the composition root's wiring steps (plane/) above every capability, entered through their indexes", async () => {
    const deep = await importErrors(
      'main/plane/example.ts',
      "import type { BackupService } from '../backup/backup-service';\nexport type B = BackupService;\n",
    );
    expect(deep).toEqual([expect.stringContaining('through its index')]);
    const up = await importErrors('main/cache/example.ts', "import type { Wiring } from '../plane';\nexport type W = Wiring;\n");
    expect(up).toEqual([expect.stringContaining('main/cache may import only folders of a lower layer')]);
  });

  it('keeps config/ a base folder: the other base files and the contract, nothing else of main/', async () => {
    const base = await importErrors(
      'main/config/example.ts',
      "import type { Clock } from '../clock';\nimport type { PhError } from '../../contract';\nexport type C = [Clock, PhError];\n",
    );
    expect(base).toEqual([]);
    const above = await importErrors('main/config/example.ts', "import type { HttpServer } from '../http';\nexport type H = HttpServer;\n");
    expect(above).toEqual([expect.stringContaining('import nothing from main/ but one another')]);
  });

  it('accepts an import down the layers through the index', async () => {
    const errors = await importErrors(
      'main/cache/example.ts',
      "import type { Migration } from '../store';\nimport type { Caller } from '../core';\nexport type M = [Migration, Caller];\n",
    );
    expect(errors).toEqual([]);
  });
});

describe('one door for REST, as lint enforces it', () => {
  async function syntaxErrors(filePath: string, code: string): Promise<string[]> {
    const eslint = new ESLint({ cwd: process.cwd() });
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
  }
  const handler = 'const handler = () => ({});\n';

  it('refuses a route registered by hand in a capability, whatever the method or form', async () => {
    for (const registration of [
      "app.get('/api/v2/cache/raw', handler);",
      'app.post(`/api/v2/${name}`, handler);',
      "app.route({ method: 'DELETE', url: '/api/v2/x', handler });",
    ]) {
      const errors = await syntaxErrors('main/cache/example.ts', `${handler}declare const app: any, name: string;\n${registration}\n`);
      expect(errors, registration).toEqual([expect.stringContaining('contract/routes.ts')]);
    }
  });

  it('leaves lookups that are not routes alone', async () => {
    const errors = await syntaxErrors('main/cache/example.ts', "const m = new Map<string, number>();\nexport const v = m.get('key');\n");
    expect(errors).toEqual([]);
  });
});
