/** The settings a bare machine starts with, and the defaults a setting left out falls back to. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './schema';

export const defaultDataDir = (): string => join(homedir(), '.pilothouse');

export function defaultConfig(dataDir: string = defaultDataDir()): Config {
  return {
    host: '127.0.0.1',
    port: 7420,
    lanAccess: false,
    dataDir,
    logLevel: 'info',
    shutdownDeadlineMs: 4000,
  };
}

/** `backup.roots`, or the data directory when the admin has named none. */
export function backupRoots(config: Config): readonly string[] {
  return config.backup?.roots ?? [config.dataDir];
}
