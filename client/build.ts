import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { contractTypes, framesDeclaration } from './scripts/generate';

/**
 * Builds `client/` (part of `npm run build`): the contract's types generated into
 * src/generated/contract.ts, one dependency-free ES module bundle (the hub client and the contract
 * code it uses inlined) for Node 20+ and browsers, and declaration files that need nothing installed
 * (the hub's frame types written as plain types in place of their TypeBox declarations).
 */
const root = resolve(import.meta.dirname);
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
// Written only when it changed: a test may be reading it while another builds.
const generated = join(root, 'src/generated/contract.ts');
const types = contractTypes();
if (!existsSync(generated) || readFileSync(generated, 'utf8') !== types) writeFileSync(generated, types);

await build({
  entryPoints: [join(root, 'src/index.ts')],
  outfile: join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});

execFileSync(process.execPath, [join(root, '../node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
const frames = join(dist, 'types/contract/realtime-frames.d.ts');
mkdirSync(dirname(frames), { recursive: true });
writeFileSync(frames, framesDeclaration());

// The published types must not reach for a package the client does not depend on.
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
const leaking = walk(join(dist, 'types')).filter((file) => /from ['"](?![./])/.test(readFileSync(file, 'utf8')));
if (leaking.length > 0) throw new Error(`Declarations import packages the client does not ship: ${leaking.join(', ')}`);
process.stderr.write(`client built: ${dist}\n`);
