/** The `PILOTHOUSE_*` environment variables as a layer of settings. */
import { delimiter } from 'node:path';
import type { ConfigLayer } from './schema';
import { list, toBoolean, toNumber } from './text-values';

export function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const out: ConfigLayer = {};
  if (env.PILOTHOUSE_HOST !== undefined) out.host = env.PILOTHOUSE_HOST;
  if (env.PILOTHOUSE_PORT !== undefined) out.port = toNumber(env.PILOTHOUSE_PORT);
  if (env.PILOTHOUSE_DATA_DIR !== undefined) out.dataDir = env.PILOTHOUSE_DATA_DIR;
  const redis = env.PILOTHOUSE_REDIS_URL ?? env.REDIS_URL;
  if (redis !== undefined && redis !== '') out.redisUrl = redis;
  if (env.PILOTHOUSE_REDIS_SENTINELS !== undefined) out.redisSentinels = env.PILOTHOUSE_REDIS_SENTINELS;
  if (env.PILOTHOUSE_REDIS_SENTINEL_NAME !== undefined) out.redisSentinelName = env.PILOTHOUSE_REDIS_SENTINEL_NAME;
  if (env.PILOTHOUSE_REDIS_CA_FILE !== undefined) out.redisCaFile = env.PILOTHOUSE_REDIS_CA_FILE;
  if (env.PILOTHOUSE_FLEET_SECRET !== undefined && env.PILOTHOUSE_FLEET_SECRET !== '') out.fleetSecret = env.PILOTHOUSE_FLEET_SECRET;
  if (env.PILOTHOUSE_FLEET_SECRET_FILE !== undefined) out.fleetSecretFile = env.PILOTHOUSE_FLEET_SECRET_FILE;
  if (env.PILOTHOUSE_LAN_ACCESS !== undefined) out.lanAccess = toBoolean(env.PILOTHOUSE_LAN_ACCESS);
  if (env.PILOTHOUSE_REQUIRE_DURABLE_REDIS !== undefined) out.requireDurableRedis = toBoolean(env.PILOTHOUSE_REQUIRE_DURABLE_REDIS);
  if (env.PILOTHOUSE_LOG_LEVEL !== undefined) out.logLevel = env.PILOTHOUSE_LOG_LEVEL;
  if (env.PILOTHOUSE_SHUTDOWN_DEADLINE_MS !== undefined) out.shutdownDeadlineMs = toNumber(env.PILOTHOUSE_SHUTDOWN_DEADLINE_MS);
  if (env.PILOTHOUSE_TLS_CERT !== undefined) out.tlsCert = env.PILOTHOUSE_TLS_CERT;
  if (env.PILOTHOUSE_TLS_KEY !== undefined) out.tlsKey = env.PILOTHOUSE_TLS_KEY;
  if (env.PILOTHOUSE_TLS_SELF_SIGNED !== undefined) out.tlsSelfSigned = toBoolean(env.PILOTHOUSE_TLS_SELF_SIGNED);
  if (env.PILOTHOUSE_INSECURE_LAN !== undefined) out.insecureLan = toBoolean(env.PILOTHOUSE_INSECURE_LAN);
  if (env.PILOTHOUSE_PUBLIC_NAMES !== undefined) out.publicNames = list(env.PILOTHOUSE_PUBLIC_NAMES, ',');
  // Paths may hold commas: the roots are split like PATH.
  if (env.PILOTHOUSE_BACKUP_ROOTS !== undefined) out.backup = { roots: list(env.PILOTHOUSE_BACKUP_ROOTS, delimiter) };
  if (env.PILOTHOUSE_DISCOVERY_ALLOWED_TARGETS !== undefined)
    out.discovery = { allowedTargets: list(env.PILOTHOUSE_DISCOVERY_ALLOWED_TARGETS, ',') };
  return out;
}
