import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** Waiting on the wall clock: `await sleep(n)`, `await new Promise((r) => setTimeout(r, n))` and kin. */
const SLEEP = /await\s+(?:sleep|delay|pause)\(|await\s+new Promise\(\s*\(?\s*\w+\s*\)?\s*=>\s*setTimeout\(/;
/** An assertion that something did not happen. */
const ABSENCE = /toHaveLength\(0\)|not\.toHaveBeenCalled|\.toBe\(0\)|toEqual\(\[\]\)|\.toBe\(false\)/;
/** An upper bound under 200 on something that reads like a time. */
const SHORT_BOUND = /expect\((.*)\)\.toBeLessThan(?:OrEqual)?\((\d+(?:\.\d+)?)\)/;
const TIME_LIKE = /now\(\)|elapsed|latenc|took|duration|\w(?:At|Ms)\b/;
/** Says why a short bound is not wall clock (recorded values, a fake clock). */
const NOT_WALL_CLOCK = /not wall clock/;

/**
 * The house rule, read off the source: a test that sleeps and then finds nothing can pass with the
 * code broken (the thing it waits for may simply not have happened yet), and a wall-clock bound under
 * 200 ms fails on a loaded machine. Use a counter, an event the code emits, or the fake clock.
 */
function vacuousPatterns(source: string): string[] {
  const lines = source.split('\n');
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (SLEEP.test(line)) {
      const next = lines.slice(i + 1, i + 4).findIndex((l) => ABSENCE.test(l));
      if (next >= 0) found.push(`line ${i + 1}: sleeps, then asserts an absence on line ${i + 2 + next}`);
    }
    const bound = SHORT_BOUND.exec(line);
    if (bound !== null && Number(bound[2]) < 200 && TIME_LIKE.test(bound[1] as string) && !NOT_WALL_CLOCK.test(line)) {
      found.push(`line ${i + 1}: a wall-clock bound of ${bound[2]} (under 200 ms)`);
    }
  });
  return found;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'screenshots' ? [] : testFiles(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

describe('tests that cannot pass vacuously', () => {
  it('finds a sleep followed by an assertion that nothing happened, and a short wall-clock bound', () => {
    const sample = [
      'await sleep(300);',
      "expect(c.frames.filter((f) => f.type === 'message')).toHaveLength(0);",
      'expect(abortedAt - before).toBeLessThan(100);',
      'expect(s?.p50Ms).toBeLessThanOrEqual(51); // recorded values, not wall clock',
      'expect(Date.now() - started).toBeLessThan(1200);',
    ].join('\n');
    expect(vacuousPatterns(sample)).toEqual([
      'line 1: sleeps, then asserts an absence on line 2',
      'line 3: a wall-clock bound of 100 (under 200 ms)',
    ]);
  });

  it('no test under test/ sleeps then asserts an absence, or bounds the wall clock under 200 ms', () => {
    const self = resolve(import.meta.filename);
    const offences = testFiles(join(root, 'test'))
      .filter((file) => file !== self) // its sample offences are strings
      .flatMap((file) => vacuousPatterns(readFileSync(file, 'utf8')).map((o) => `${relative(root, file)} ${o}`));
    expect(offences).toEqual([]);
  });
});
