/**
 * Loading: defaults, then the config file, the environment and the flags laid over one another, the
 * fleet secret read from its file, and the result validated once.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PhError } from '../../contract';
import { defaultConfig } from './defaults';
import { envLayer } from './env';
import { flagLayer, parseFlags } from './flags';
import type { Config, ConfigLayer } from './schema';
import { validate } from './validate';

export interface LoadedConfig {
  readonly config: Config;
  /** Where settings came from, lowest precedence first: shown to operators by `system.config`. */
  readonly sources: readonly string[];
}

export interface ConfigInputs {
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly defaults?: Config;
}

/**
 * Defaults → config file → `PILOTHOUSE_*` environment → CLI flags, each layer overriding the one
 * before; the result is validated once and a bad value is reported with the setting's name.
 */
export function loadConfig(inputs: ConfigInputs = {}): LoadedConfig {
  const env = inputs.env ?? process.env;
  const flags = parseFlags(inputs.argv ?? []);
  const sources = ['defaults'];
  const merged: ConfigLayer = { ...(inputs.defaults ?? defaultConfig()) };

  const file = flags.config ?? env.PILOTHOUSE_CONFIG;
  if (file !== undefined) {
    overlay(merged, readConfigFile(file));
    sources.push(`file ${resolve(file)}`);
  }

  const fromEnv = envLayer(env);
  if (Object.keys(fromEnv).length > 0) {
    overlay(merged, fromEnv);
    sources.push(`environment (${Object.keys(fromEnv).join(', ')})`);
  }

  const fromFlags = flagLayer(flags);
  if (Object.keys(fromFlags).length > 0) {
    overlay(merged, fromFlags);
    sources.push(`flags (${Object.keys(fromFlags).join(', ')})`);
  }

  if (typeof merged.dataDir === 'string' && !isAbsolute(merged.dataDir)) merged.dataDir = resolve(merged.dataDir);
  for (const key of ['tlsCert', 'tlsKey'] as const) {
    const value = merged[key];
    if (typeof value === 'string' && !isAbsolute(value)) merged[key] = resolve(value);
  }
  if (typeof merged.fleetSecretFile === 'string') merged.fleetSecret = readSecretFile(merged.fleetSecretFile);
  const config = validate(merged);
  return { config, sources };
}

const isSection = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Lays `layer` over `base` setting by setting: a section (`backup`, `realtime`, …) is laid over the
 * same section below it, so `--backup-root` replaces `backup.roots` and keeps the file's
 * `backup.peerSenders`; a list replaces the list below it whole. Written here because a library's
 * deep merge (lodash's merge) joins arrays index by index, so a shorter list would keep a tail.
 */
function overlay(base: Record<string, unknown>, layer: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(layer)) {
    const below = base[key];
    if (isSection(below) && isSection(value)) {
      const section = { ...below };
      overlay(section, value);
      base[key] = section;
    } else base[key] = value;
  }
}

/**
 * The fleet secret from its file. The file must be readable by its owner only: a secret that any
 * local account can read signs nothing.
 */
function readSecretFile(path: string): string {
  const fail = (why: string): never => {
    throw new PhError('PH_CONFIG_INVALID', `Setting "fleetSecretFile": ${why}`, { field: 'fleetSecretFile' });
  };
  let mode = 0;
  let text = '';
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    fail(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) fail(`${path} is readable by other accounts; chmod 600 it`);
  return text;
}

function readConfigFile(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PhError('PH_CONFIG_INVALID', `Cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      field: 'config',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PhError('PH_CONFIG_INVALID', `The config file ${path} is not valid JSON`, { field: 'config' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PhError('PH_CONFIG_INVALID', `The config file ${path} must hold a JSON object`, { field: 'config' });
  }
  return parsed as ConfigLayer;
}
