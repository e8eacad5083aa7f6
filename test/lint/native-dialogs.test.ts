import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** Lints `code` as the renderer file `filePath` with the project's config; answers the rule ids that fired. */
async function rulesFired(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: process.cwd() });
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe("the console asks in the page, never with the browser's own dialogs", () => {
  it('refuses window.confirm, window.prompt and a bare confirm() in the renderer', async () => {
    const fired = await rulesFired(
      'renderer/src/views/example.tsx',
      "export const ask = () => window.confirm('sure?') && window.prompt('why?') !== null && confirm('really?');\n",
    );
    expect(fired).toEqual(['no-restricted-properties', 'no-restricted-properties', 'no-restricted-globals']);
  });

  it('accepts the in-page dialog', async () => {
    const fired = await rulesFired(
      'renderer/src/views/example.tsx',
      "import { useConfirm } from '../components/confirm-dialog';\nexport const useIt = () => useConfirm().confirm;\n",
    );
    expect(fired).toEqual([]);
  });
});
