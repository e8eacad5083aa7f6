import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `npm run test:faults:record`: runs the fault suite at its full size (PH_FAULT_KILLS, default 50)
 * and writes the figures the tests reported into docs/reliability.md between the `recorded` markers,
 * so no number on that page is typed by hand. Fails (and writes nothing) if the suite fails.
 */
const root = resolve(import.meta.dirname, '..');
const kills = process.env.PH_FAULT_KILLS ?? '50';
const dir = mkdtempSync(join(tmpdir(), 'ph-faults-'));
const report = join(dir, 'figures.jsonl');
const started = new Date();
const run = spawnSync('npx', ['vitest', 'run', 'test/faults', 'test/fleet/batch-kills.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PH_FAULT_KILLS: kills, PH_FAULT_REPORT: report },
});
if (run.status !== 0) {
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write('the fault suite failed; docs/reliability.md is unchanged\n');
  process.exit(run.status ?? 1);
}
const figures = readFileSync(report, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { name: string; value: number | string; detail: string });
rmSync(dir, { recursive: true, force: true });
const block = [
  `<!-- recorded:faults -->`,
  `Run: \`PH_FAULT_KILLS=${kills} npm run test:faults\`, ${started.toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round((Date.now() - started.getTime()) / 1000)} s.`,
  '',
  '| figure | value | what |',
  '| --- | --- | --- |',
  ...figures.map((f) => `| ${f.name} | ${f.value} | ${f.detail} |`),
  `<!-- /recorded:faults -->`,
].join('\n');
const page = join(root, 'docs', 'reliability.md');
const text = readFileSync(page, 'utf8');
writeFileSync(page, text.replace(/<!-- recorded:faults -->[\s\S]*<!-- \/recorded:faults -->/, block));
process.stdout.write(`recorded ${figures.length} figures in docs/reliability.md\n`);
