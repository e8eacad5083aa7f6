import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `npm run bench:record -- <suite>`: runs one benchmark suite and pastes what it printed (every JSON
 * line, its progress, the machine it ran on) into docs/bench-results/<suite>.md and
 * docs/benchmarks.md, between `<!-- recorded:... -->` markers, so no figure in the docs is typed by
 * hand. Environment variables that pick a subset (BENCH_ONLY, CACHE_BENCH_ONLY, BENCH_ROUNDS, ...)
 * pass through and are written beside the command.
 */
const root = resolve(import.meta.dirname, '..');
const suite = process.argv[2];
if (suite === undefined || !/^[a-z-]+$/.test(suite)) {
  process.stderr.write('usage: npm run bench:record -- <suite>\n');
  process.exit(2);
}

const passed = Object.entries(process.env)
  .filter(([k]) => /BENCH/.test(k))
  .map(([k, v]) => `${k}=${v ?? ''}`);
const command = [...passed, 'npm run bench --', suite].join(' ');

function machine(when: Date): string[] {
  const gib = (n: number) => (n / 2 ** 30).toFixed(1);
  return [
    `date: ${when.toISOString()}`,
    `cores: ${cpus().length} (${cpus()[0]?.model ?? 'unknown'})`,
    `memory: ${gib(totalmem())} GiB total, ${gib(freemem())} GiB free`,
    `node: ${process.version}`,
    `load average at start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`,
  ];
}

function replaceBetween(file: string, marker: string, body: string): void {
  const begin = `<!-- recorded:${marker}:begin -->`;
  const end = `<!-- recorded:${marker}:end -->`;
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} ... ${end} block`);
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n${body}\n${text.slice(to)}`);
}

const started = new Date();
const facts = machine(started);
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/run.ts'), suite], { cwd: root, env: process.env });
let stdout = '';
let stderr = '';
child.stdout.on('data', (chunk: Buffer) => {
  stdout += chunk.toString();
  process.stdout.write(chunk);
});
child.stderr.on('data', (chunk: Buffer) => {
  stderr += chunk.toString();
  process.stderr.write(chunk);
});
child.on('close', (code) => {
  const seconds = Math.round((Date.now() - started.getTime()) / 1000);
  const figures = stdout.split('\n').filter((line) => line.startsWith('{"bench"'));
  const progressLines = stderr.split('\n').filter((line) => line.trim() !== '' && !/FSTDEP|trace-warnings/.test(line));
  if (code !== 0 || figures.length === 0) {
    process.stderr.write(`record-bench: the suite exited with ${code} and printed ${figures.length} figures; nothing recorded\n`);
    process.exit(1);
  }
  const fence = (lines: string[]) => ['```', ...lines, '```'].join('\n');
  replaceBetween(
    join(root, 'docs/bench-results', `${suite}.md`),
    'run',
    [
      `Command: \`${command}\` (exit ${code}, ${seconds} s)`,
      '',
      fence(facts),
      '',
      'Figures, as printed:',
      '',
      fence(figures),
      '',
      'Progress, as printed:',
      '',
      fence(progressLines),
    ].join('\n'),
  );
  replaceBetween(
    join(root, 'docs/benchmarks.md'),
    suite,
    [`\`${command}\`, ${started.toISOString()}, ${facts[1]}, ${process.version}, ${facts[4]}:`, '', fence(figures)].join('\n'),
  );
  // The pages are checked by prettier with the rest of the tree: leave them as it would.
  const pages = [join(root, 'docs/bench-results', `${suite}.md`), join(root, 'docs/benchmarks.md')];
  spawnSync(join(root, 'node_modules/.bin/prettier'), ['--write', ...pages], { stdio: 'inherit' });
  process.stderr.write(`record-bench: ${figures.length} figures recorded for ${suite}\n`);
});
