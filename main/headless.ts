import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR } from './core';
import { PhError } from '../contract';
import { resetAdminKey } from './admin-key';
import { systemClock } from './clock';
import { loadConfig } from './config';
import { ControlPlane } from './control-plane';
import { createLogger } from './logger';

/**
 * `npm run serve`: every service without Electron. Prints where the console is and how to sign in,
 * stops gracefully on SIGINT/SIGTERM, and exits non-zero with one clear line on a bad config or a
 * taken port.
 */
async function main(): Promise<void> {
  if (process.argv[2] === 'admin-key') return adminKeyCommand(process.argv.slice(3));
  let plane: ControlPlane;
  try {
    const loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
    plane = new ControlPlane(loaded, { mode: 'headless', logger: createLogger(loaded.config.logLevel) });
  } catch (err) {
    fail(err);
  }

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    plane.logger.info({ signal }, 'stopping');
    plane.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        plane.logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  try {
    await plane.start();
  } catch (err) {
    fail(err);
  }

  const { dataDir } = plane.loaded.config;
  const lines = [
    '',
    `Pilothouse is running. Console: ${plane.url}/`,
    plane.adminKeyFile !== null
      ? `First start: an admin API key was written to ${plane.adminKeyFile} (shown nowhere else). Sign in with it.`
      : existsSync(join(dataDir, DATA_DIR.adminKey))
        ? `Sign in with an API key; the first admin key was written to ${dataDir}/admin.key on first start.`
        : 'Sign in with an API key of the fleet: keys are fleet-wide, and the admin key is in admin.key on the node that made it.',
    ...(plane.tls === null
      ? []
      : [
          `TLS certificate SHA-256 fingerprint: ${plane.tls.fingerprint256}${plane.tls.selfSigned ? ` (self-signed, ${plane.tls.certFile})` : ''}`,
        ]),
    `Press Ctrl+C to stop.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/**
 * `headless.js admin-key --reset [--data-dir D]`: with the node stopped, issue a new admin key
 * (docs/security.md, "Locked out"). Exits 0 naming the key file, or 1 with one clear line.
 */
function adminKeyCommand(args: string[]): void {
  try {
    if (!args.includes('--reset')) throw new PhError('PH_INVALID_INPUT', 'Usage: admin-key --reset [--data-dir DIR]');
    const loaded = loadConfig({ argv: args.filter((a) => a !== '--reset'), env: process.env });
    const { keyFile, keyId } = resetAdminKey(loaded.config.dataDir, systemClock);
    process.stdout.write(`A new admin key (${keyId}) was written to ${keyFile}. Sign in with it, then revoke keys you no longer trust.\n`);
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): never {
  const message = err instanceof PhError ? `${err.code}: ${err.message}` : `Pilothouse failed to start: ${(err as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

void main();
