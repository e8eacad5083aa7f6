import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';

/**
 * Child process for the client bench: one headless Pilothouse on 127.0.0.1, port 0, in a fresh data
 * dir, so the server's work does not share the measuring process's event loop. Prints
 * `{url, adminKey}` once started; stops on SIGTERM.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'ph-bench-client-'));
const config = { ...defaultConfig(dataDir), port: 0, logLevel: 'silent' as const };
const plane = new ControlPlane({ config, sources: ['bench'] }, { mode: 'headless', logger: createLogger('silent') });

async function main(): Promise<void> {
  await plane.start();
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  process.stdout.write(`${JSON.stringify({ url: plane.url, adminKey })}\n`);
}

void main();
process.on(
  'SIGTERM',
  () =>
    void plane.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }),
);
