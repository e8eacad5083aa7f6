import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId } from './ids';
import { DATA_DIR } from '../core';

const FILE = DATA_DIR.nodeId;
const VALID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * This node's name in the fleet: made once and kept in `<dataDir>/node.id`, so a restart (or a Redis
 * that lost its data) never turns one node into two, and every capability names the node the same way.
 */
export function loadNodeId(dataDir: string): string {
  const path = join(dataDir, FILE);
  try {
    const stored = readFileSync(path, 'utf8').trim();
    if (VALID.test(stored)) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = `node-${newId().slice(-12)}`;
  writeFileSync(path, `${id}\n`, { mode: 0o600 });
  return id;
}
