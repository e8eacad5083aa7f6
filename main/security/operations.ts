import type { EventBus } from '../events/event-bus';
import type { HandlersFor } from '../ops/operation-dispatcher';
import type { ApiKeyStore } from './api-keys';
import type { AuditLog } from './audit-log';
import type { SessionTokens } from './session-tokens';

export interface SecurityHandlerDeps {
  readonly keys: ApiKeyStore;
  readonly audit: AuditLog;
  readonly sessions: SessionTokens;
  /** Revocations go out as `auth.revoked`: every node's hub closes the sockets they name. */
  readonly bus: EventBus;
  readonly now: () => number;
}

export function securityHandlers({
  keys,
  audit,
  sessions,
  bus,
  now,
}: SecurityHandlerDeps): HandlersFor<
  'keys.list' | 'keys.create' | 'keys.revoke' | 'audit.list' | 'audit.verify' | 'sessions.logout' | 'sessions.rotate'
> {
  return {
    'keys.list': (input) => ({ keys: keys.list(input.includeRevoked ?? false) }),
    'keys.create': (input, caller) => keys.create(input, caller.actor),
    'keys.revoke': (input) => {
      const key = keys.revoke(input.id);
      bus.publish('auth.revoked', { keyId: key.id, sessionId: null, allSessions: false, reason: 'key-revoked' });
      return { key };
    },
    'audit.list': (input) => {
      const page = audit.list(input);
      return { ...page, chainIntact: audit.verify().intact };
    },
    'audit.verify': () => audit.verify(),
    'sessions.logout': (_input, caller) => {
      if (caller.sessionId === undefined) return { ended: false };
      sessions.end(caller.sessionId);
      bus.publish('auth.revoked', { keyId: null, sessionId: caller.sessionId, allSessions: false, reason: 'signed-out' });
      return { ended: true };
    },
    'sessions.rotate': () => {
      sessions.rotate();
      bus.publish('auth.revoked', { keyId: null, sessionId: null, allSessions: true, reason: 'secret-rotated' });
      return { rotatedAt: new Date(now()).toISOString() };
    },
  };
}
