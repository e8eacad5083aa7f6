/**
 * Every setting in one validated config object: the schema (schema.ts), the defaults a bare machine
 * starts with (defaults.ts), the file, environment and flag layers (load.ts, env.ts, flags.ts) and the
 * checks the merged result passes (validate.ts).
 */
export { ConfigSchema, type Config } from './schema';
export { backupRoots, defaultConfig, defaultDataDir } from './defaults';
export { loadConfig, type ConfigInputs, type LoadedConfig } from './load';
export { isFleet, isLoopback } from './validate';
