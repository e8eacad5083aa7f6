import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'coverage/**', 'test/e2e/screenshots/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.object.name="console"][callee.property.name="log"]',
          message: 'Log with the logger (pino); print to stdout/stderr explicitly in CLIs.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-restricted-syntax': 'off' },
  },
  {
    // The console runs in a sandboxed page: it may use the contract (types and schemas), never main-process code.
    files: ['renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            // The hub's client is the one exception: it is written for the browser too (types, a WebSocket, JSON).
            {
              regex: '(^|/)main(/(?!realtime/client(/|$)).*)?$',
              message: 'The renderer must not import main-process code; use the contract, the Client and the hub client.',
            },
            {
              regex: 'realtime/client/node$',
              message: "The hub client's Node entry needs node:tls; the console imports the client's index.",
            },
            {
              group: ['electron', 'node:*', 'fs', 'path', 'child_process'],
              message: 'The renderer has no Node or Electron; go through the Client.',
            },
          ],
        },
      ],
    },
  },
  {
    // The hub client runs in browsers and in Node: it may import nothing but its own files.
    // node.ts is its Node-only entry (certificate pinning needs node:tls and ws); the console never imports it.
    files: ['main/realtime/client/**/*.ts'],
    ignores: ['main/realtime/client/node.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*', 'node:*', 'ws', 'fs', 'path'], message: 'The hub client must stay runnable in a browser.' }] },
      ],
    },
  },
  {
    files: ['preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/main/**', '**/main'], message: 'The preload exposes the contract only.' }] },
      ],
    },
  },
);
