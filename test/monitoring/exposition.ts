import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/** The value of one sample line of Prometheus exposition text (`name{labels}`), or undefined when it is absent. */
export function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

/** Exposition text as Prometheus's own `promtool check metrics` sees it: no complaint, exit 0. */
export function expectPromtoolAccepts(text: string): void {
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(check.error).toBeUndefined();
  expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
  expect(check.status).toBe(0);
}
