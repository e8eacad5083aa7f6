import { PhError } from '../../contract/errors';
import type { HandlersFor } from '../core';
import type { EventBus } from '../events';
import type { ApiKeyStore } from './api-keys';
import { decodeAuditCursor, encodeAuditCursor, type AuditCursor } from './audit-cursor';
import type { FleetAuditPage, FleetAuditTrail } from './audit-fleet';
import type { AuditFilter } from './audit-filter';
import type { AuditLog } from './audit-log';
import type { OAuthServer } from './oauth-server';
import type { SessionTokens } from './session-tokens';

export interface SecurityHandlerDeps {
  readonly keys: ApiKeyStore;
  readonly audit: AuditLog;
  readonly sessions: SessionTokens;
  /** Revocations go out as `auth.revoked`: every node's hub closes the sockets they name. */
  readonly bus: EventBus;
  readonly now: () => number;
  /** In a fleet: every node's audit rows, to list and verify the whole trail. */
  readonly trail?: FleetAuditTrail | null;
  /** Sign-out with an OAuth access token ends its grant (its revocation raises `auth.revoked` itself). */
  readonly oauth?: Pick<OAuthServer, 'endGrantOf'> | null;
}

export function securityHandlers({
  keys,
  audit,
  sessions,
  bus,
  now,
  trail = null,
  oauth = null,
}: SecurityHandlerDeps): HandlersFor<
  | 'keys.list'
  | 'keys.create'
  | 'keys.revoke'
  | 'keys.pin'
  | 'keys.update'
  | 'audit.list'
  | 'audit.verify'
  | 'sessions.logout'
  | 'sessions.rotate'
> {
  const verify = () => {
    const local = audit.verify();
    if (trail === null) return local;
    const chains = trail.verify();
    return { ...local, intact: local.intact && chains.every((c) => c.intact), chains };
  };
  return {
    'keys.list': (input) => ({ keys: keys.list(input.includeRevoked ?? false) }),
    'keys.create': (input, caller) => keys.create(input, caller.actor),
    'keys.revoke': (input) => {
      const key = keys.revoke(input.id);
      bus.publish('auth.revoked', { keyId: key.id, sessionId: null, allSessions: false, reason: 'key-revoked' });
      return { key };
    },
    'keys.pin': (input) => ({ key: keys.pin(input.id, input.apiVersion) }),
    'keys.update': (input) => ({ key: keys.setScopes(input.id, input.scopes) }),
    'audit.list': (input) => {
      if (input.fleet !== true) {
        if (input.cursor !== undefined)
          throw new PhError('PH_INVALID_INPUT', 'cursor pages the fleet list (fleet: true); this node’s list pages with beforeSeq', {
            field: 'cursor',
          });
        return { ...audit.list(input), chainIntact: verify().intact };
      }
      if (input.beforeSeq !== undefined)
        throw new PhError('PH_INVALID_INPUT', 'beforeSeq pages one node’s list; the fleet list (fleet: true) pages with cursor', {
          field: 'beforeSeq',
        });
      const cursor = input.cursor === undefined ? undefined : decodeAuditCursor(input.cursor);
      const page = trail !== null ? trail.list({ ...input, cursor }) : ownRowsAsFleet(audit, input, cursor);
      return { ...page, chainIntact: verify().intact };
    },
    'audit.verify': () => verify(),
    'sessions.logout': (_input, caller) => {
      if (caller.sessionId === undefined) return { ended: false };
      if (oauth?.endGrantOf(caller) === true) return { ended: true };
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

/**
 * `fleet: true` on a single machine: this node's rows are the whole trail, in the same order and
 * with the same cursor, so a caller pages it the same way with or without a fleet.
 */
function ownRowsAsFleet(
  audit: AuditLog,
  input: AuditFilter & { limit?: number; beforeAt?: string },
  cursor: AuditCursor | undefined,
): FleetAuditPage {
  const limit = input.limit ?? 50;
  // Both bound the rows from above: the earlier instant is the one that holds.
  const until = [input.until, input.beforeAt].filter((at) => at !== undefined).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  const { actor, action, target, since } = input;
  const page = audit.list({ actor, action, target, since, until, beforeSeq: cursor?.seq, limit: limit + 1 });
  const more = page.entries.length > limit;
  const entries = page.entries.slice(0, limit);
  const last = entries.at(-1);
  return {
    entries,
    total: page.total,
    nextCursor: more && last !== undefined ? encodeAuditCursor({ at: last.at, node: last.node ?? '', seq: last.seq }) : null,
  };
}
