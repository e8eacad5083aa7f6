import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import { PhError } from '../../contract/errors';

/** What the config says about where Redis is; `redisTarget` turns it into ioredis options. */
export interface RedisSettings {
  readonly redisUrl?: string;
  readonly redisSentinels?: string;
  readonly redisSentinelName?: string;
  readonly redisCaFile?: string;
}

/**
 * ioredis options for the configured Redis: a URL (`redis://user:password@host:port/db`, or
 * `rediss://` for TLS, checked against `redisCaFile` when given, else the system's CAs), or
 * Sentinels that name the current master. With Sentinels, the URL (when given) still supplies the
 * master's user, password, database and TLS; its host is not used. Every duplicate of the client
 * (cache, hub, registry, queues) inherits these options.
 */
export function redisTarget(settings: RedisSettings): RedisOptions | null {
  if (settings.redisUrl === undefined && settings.redisSentinels === undefined) return null;
  const url = settings.redisUrl === undefined ? null : new URL(settings.redisUrl);
  const tls = url?.protocol === 'rediss:' ? tlsOptions(settings.redisCaFile) : undefined;
  const auth: RedisOptions = {
    ...(url !== null && url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(url !== null && url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
    ...(url !== null && url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(tls === undefined ? {} : { tls }),
  };
  if (settings.redisSentinels === undefined) {
    return { host: url!.hostname.replace(/^\[|\]$/g, ''), port: url!.port === '' ? 6379 : Number(url!.port), ...auth };
  }
  const sentinels = settings.redisSentinels.split(',').map((hostPort) => {
    const colon = hostPort.lastIndexOf(':');
    return { host: hostPort.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(colon + 1)) };
  });
  return {
    ...auth,
    sentinels,
    name: settings.redisSentinelName,
    ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
    // After a failover the old master turns replica: writes there fail READONLY until the client
    // asks the Sentinels again, so such an error reconnects, and a Sentinel's +switch-master does too.
    failoverDetector: true,
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

function tlsOptions(caFile: string | undefined): { ca?: Buffer } {
  if (caFile === undefined) return {};
  try {
    return { ca: readFileSync(caFile) };
  } catch (err) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      `Setting "redisCaFile": cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        field: 'redisCaFile',
      },
    );
  }
}
