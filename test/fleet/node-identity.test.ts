import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNodeId, newId } from '../../main/fleet';
import { tempDir } from '../helpers/temp-dir';

describe('node identity', () => {
  let dir: ReturnType<typeof tempDir>;
  afterEach(() => dir.remove());

  it('keeps the same node id across restarts, in a file only the owner can read', () => {
    dir = tempDir('ph-node-');
    const first = loadNodeId(dir.path);
    expect(first).toMatch(/^node-[0-9a-f]{12}$/);
    expect(loadNodeId(dir.path)).toBe(first);
    expect(statSync(join(dir.path, 'node.id')).mode & 0o777).toBe(0o600);
  });

  it('makes ids that are unique and sort by creation time', () => {
    dir = tempDir('ph-ids-');
    const ids = Array.from({ length: 1000 }, () => newId());
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
  });
});
