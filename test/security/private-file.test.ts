import { chmodSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPrivateFile, writePrivateFile } from '../../main/core';
import { tempDir } from '../helpers/temp-dir';

describe('private files (secrets, key files, the audit head)', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir('ph-private-');
  });
  afterEach(() => dir.remove());

  it('writes 0600 in a 0700 folder it makes, and leaves no temp file behind', () => {
    const file = join(dir.path, 'secrets', 'a.key');
    expect(writePrivateFile(file, 'one\n', 'replace')).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir.path, 'secrets')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir.path, 'secrets'))).toEqual(['a.key']);
    expect(readPrivateFile(file)).toBe('one\n');
  });

  it('creates only once: a second create keeps the first content and says so', () => {
    const file = join(dir.path, 'b.key');
    expect(writePrivateFile(file, 'first', 'create')).toBe(true);
    expect(writePrivateFile(file, 'second', 'create')).toBe(false);
    expect(readPrivateFile(file)).toBe('first');
    expect(readdirSync(dir.path)).toEqual(['b.key']);
  });

  it('answers null for a missing file and tightens a file another hand made readable', () => {
    expect(readPrivateFile(join(dir.path, 'none'))).toBeNull();
    const file = join(dir.path, 'loose.key');
    writeFileSync(file, 'x');
    chmodSync(file, 0o644);
    expect(readPrivateFile(file)).toBe('x');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to read through a planted link, and a replace swaps the link out without touching its target', () => {
    const outside = join(dir.path, 'outside.txt');
    writeFileSync(outside, 'not a secret');
    const file = join(dir.path, 'c.key');
    symlinkSync(outside, file);
    expect(() => readPrivateFile(file)).toThrow(/ELOOP/);
    writePrivateFile(file, 'secret', 'replace');
    expect(readFileSync(outside, 'utf8')).toBe('not a secret');
    expect(readPrivateFile(file)).toBe('secret');
  });
});
