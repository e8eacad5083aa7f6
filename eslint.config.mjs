import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * The layers of main/, lowest first (docs/architecture.md draws them). A folder may import a folder
 * of a lower layer, through its index.ts only; never one of its own layer or above. Imports thus go
 * one way, so no two folders can form a cycle. The root files (control-plane, headless, index)
 * and plane/ (the composition root's wiring steps) sit above every layer; the base files (clock,
 * config, retention-config, logger, service, version) below them all.
 */
const layers = [
  ['core'],
  ['events', 'store', 'redis'],
  ['fleet'],
  ['ops', 'security'],
  ['http', 'monitoring', 'batch', 'ratelimit'],
  ['cache', 'backup', 'discovery', 'realtime', 'webhooks', 'graphql'],
  ['system'],
  ['desktop'],
];
const rootFiles = ['control-plane', 'fleet-tables', 'headless', 'index', 'maintenance-plan'];
/** Folders of the composition root: like the root files, above every layer. */
const rootFolders = ['plane'];

const noConsoleLog = {
  selector: 'CallExpression[callee.object.name="console"][callee.property.name="log"]',
  message: 'Log with the logger (pino); print to stdout/stderr explicitly in CLIs.',
};
const ONE_DOOR =
  'A REST route is a row of contract/routes.ts onto an operation, mounted by main/http/rest-routes.ts through the dispatcher; do not register routes by hand.';
/** Route registrations on a Fastify instance: `x.get('/path', ...)` and the like, and `x.route({...})`. */
const handMadeRoutes = [
  {
    selector:
      "CallExpression[callee.property.name=/^(get|post|put|patch|delete|head|options|all)$/][arguments.0.type='Literal'][arguments.0.value=/^\\//]",
    message: ONE_DOOR,
  },
  {
    selector:
      "CallExpression[callee.property.name=/^(get|post|put|patch|delete|head|options|all)$/][arguments.0.type='TemplateLiteral'][arguments.0.quasis.0.value.raw=/^\\//]",
    message: ONE_DOOR,
  },
  { selector: "CallExpression[callee.property.name='route'][arguments.0.type='ObjectExpression']", message: ONE_DOOR },
];
const DEEP_IMPORT = 'Import another folder of main/ through its index (../<folder>), never a file inside it.';

/** One config block a folder: no deep imports, no imports up or across the layers, none of the root files. */
function layerRules() {
  return layers.flatMap((layer, level) =>
    layer.map((folder) => {
      const notBelow = layers
        .slice(level)
        .flat()
        .filter((other) => other !== folder);
      return {
        files: [`main/${folder}/**/*.ts`],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                { regex: '^\\.\\./(?!\\.\\./)[^/]+/', message: DEEP_IMPORT },
                {
                  regex: `^\\.\\./(${[...notBelow, ...rootFiles, ...rootFolders].join('|')})(/|$)`,
                  message: `main/${folder} may import only folders of a lower layer (${layers.slice(0, level).flat().join(', ') || 'none'}); imports go down the layers so folders cannot form a cycle.`,
                },
              ],
            },
          ],
        },
      };
    }),
  );
}

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'coverage/**', 'test/e2e/screenshots/**', 'client/dist/**', 'client/src/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', noConsoleLog],
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
      // The browser's own dialogs block the page, cannot be styled or themed, and are not announced
      // like an in-page dialog: the console asks with components/confirm-dialog.tsx instead.
      'no-restricted-globals': [
        'error',
        ...['confirm', 'prompt', 'alert'].map((name) => ({ name, message: 'Use the in-page dialog (components/confirm-dialog.tsx).' })),
      ],
      'no-restricted-properties': [
        'error',
        ...['confirm', 'prompt', 'alert'].flatMap((property) =>
          ['window', 'globalThis'].map((object) => ({
            object,
            property,
            message: 'Use the in-page dialog (components/confirm-dialog.tsx).',
          })),
        ),
      ],
    },
  },
  ...layerRules(),
  {
    // One door: no route but the contract's, mounted through the dispatcher. The exceptions: the
    // server's own endpoints (health, readiness, metrics, session, OAuth, the operations, the console),
    // the mounter of the contract's routes, the gateway, which forwards LAN traffic to
    // registered services and runs no operation, and the peer-replica endpoint, which streams
    // repository files between nodes (bytes, not an operation's JSON; contract/endpoints.ts).
    files: ['main/**/*.ts'],
    ignores: [
      'main/http/http-server.ts',
      'main/http/oauth-endpoints.ts',
      'main/http/rest-routes.ts',
      'main/discovery/gateway.ts',
      'main/backup/peer-routes.ts',
    ],
    rules: { 'no-restricted-syntax': ['error', noConsoleLog, ...handMadeRoutes] },
  },
  {
    // The composition root builds capabilities from their indexes, like everyone else.
    files: rootFiles.map((file) => `main/${file}.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\./[^/]+/', message: DEEP_IMPORT }] }] },
  },
  {
    files: rootFolders.map((folder) => `main/${folder}/**/*.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!\\.\\./)[^/]+/', message: DEEP_IMPORT }] }] },
  },
  {
    // The base files under every layer import nothing from main/ but one another (config/ is a folder of them).
    files: ['main/{clock,retention-config,logger,service,version}.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\./(?!(clock|config|retention-config|logger|service|version)$)',
              message: 'The base files of main/ import nothing from main/ but one another (they sit under every layer).',
            },
          ],
        },
      ],
    },
  },
  {
    // The files of config/ import one another, the other base files and the contract, nothing else of main/.
    files: ['main/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!(clock|retention-config|logger|service|version)$|\\.\\./contract$)',
              message: 'The base files of main/ import nothing from main/ but one another (they sit under every layer).',
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
        {
          patterns: [
            // Its frames come from the contract, which runs anywhere (types and schemas).
            { regex: '^\\.\\./(?!\\.\\./\\.\\./contract/)', message: 'The hub client must stay runnable in a browser.' },
            { group: ['node:*', 'ws', 'fs', 'path'], message: 'The hub client must stay runnable in a browser.' },
          ],
        },
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
