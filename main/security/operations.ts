import type { HandlersFor } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { AuditLog } from './audit-log';

export function securityHandlers(
  keys: ApiKeyStore,
  audit: AuditLog,
): HandlersFor<'keys.list' | 'keys.create' | 'keys.revoke' | 'audit.list'> {
  return {
    'keys.list': (input) => ({ keys: keys.list(input.includeRevoked ?? false) }),
    'keys.create': (input, caller) => keys.create(input, caller.actor),
    'keys.revoke': (input) => ({ key: keys.revoke(input.id) }),
    'audit.list': (input) => {
      const page = audit.list(input);
      return { ...page, chainIntact: audit.verify().intact };
    },
  };
}
