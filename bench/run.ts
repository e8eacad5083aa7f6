import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * `npm run bench` runs every suite; `npm run bench -- cache` one. A suite is a folder
 * `bench/<name>/` with an `index.ts`; it prints one JSON line per figure on stdout and its progress on stderr
 * (see docs/benchmarks.md). Each suite runs in its own process so one cannot warm the next.
 */
const benchDir = resolve(import.meta.dirname);

function suites(): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(benchDir)) {
    const full = join(benchDir, entry);
    if (statSync(full).isDirectory()) {
      if (existsSync(join(full, 'index.ts'))) found.set(entry, join(full, 'index.ts'));
    }
  }
  return found;
}

const all = suites();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.has(name));
if (unknown.length > 0) {
  process.stderr.write(`Unknown suite(s): ${unknown.join(', ')}. Suites: ${[...all.keys()].sort().join(', ') || 'none'}\n`);
  process.exit(2);
}
let failed = false;
for (const name of wanted.length > 0 ? wanted : [...all.keys()].sort()) {
  process.stderr.write(`\n== bench ${name}\n`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', all.get(name) as string], { stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write(`bench ${name} exited with ${run.status ?? run.signal}\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
