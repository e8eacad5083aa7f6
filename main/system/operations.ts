import type { Static } from '@sinclair/typebox';
import type { SystemStatusSchema } from '../../contract/ops/system';
import type { LoadedConfig } from '../config';
import type { HandlersFor } from '../core';

export type SystemStatus = Static<typeof SystemStatusSchema>;

export function systemHandlers(status: () => SystemStatus, loaded: LoadedConfig): HandlersFor<'system.status' | 'system.config'> {
  return {
    'system.status': () => status(),
    'system.config': () => {
      const { config } = loaded;
      return {
        host: config.host,
        port: config.port,
        lanAccess: config.lanAccess,
        dataDir: config.dataDir,
        redisConfigured: config.redisUrl !== undefined,
        logLevel: config.logLevel,
        shutdownDeadlineMs: config.shutdownDeadlineMs,
        sources: [...loaded.sources],
      };
    },
  };
}
