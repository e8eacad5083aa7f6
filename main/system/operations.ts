import type { Static } from '@sinclair/typebox';
import type { RetentionViewSchema, SystemStatusSchema } from '../../contract/ops/system';
import { backupRoots, type LoadedConfig } from '../config';
import type { HandlersFor } from '../core';
import { defaultAllowedTargets } from '../discovery';
import { tlsMode } from '../http';

export type SystemStatus = Static<typeof SystemStatusSchema>;
export type RetentionView = Static<typeof RetentionViewSchema>;

const tlsLabel = { files: 'files', 'self-signed': 'self-signed', none: 'off' } as const;

export function systemHandlers(
  status: () => SystemStatus,
  loaded: LoadedConfig,
  retention: () => RetentionView,
): HandlersFor<'system.status' | 'system.config'> {
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
        tls: tlsLabel[tlsMode(config).kind],
        publicNames: [...(config.publicNames ?? [])],
        backupRoots: [...backupRoots(config)],
        allowedTargets: [...(config.discovery?.allowedTargets ?? defaultAllowedTargets)],
        sources: [...loaded.sources],
        retention: retention(),
      };
    },
  };
}
