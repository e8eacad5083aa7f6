import type { ApiVersion } from '../../contract/api-versions';
import type { Role } from '../../contract/roles';

/** Who is making a call, as every capability sees it after authentication. */
export interface Caller {
  /** Stable name for the audit log: `key:<id>`, `desktop`, or `system`. */
  readonly actor: string;
  readonly keyId: string | null;
  readonly role: Role;
  readonly scopes: readonly string[];
  /** The session token's id (`jti`) when the caller came with one: sign-out ends exactly this session. */
  readonly sessionId?: string;
  /** The REST version the key is pinned to: what a request that names no version gets. */
  readonly apiVersion?: ApiVersion;
  /**
   * The key's own role, when a token narrowed `role` (an OAuth access token that asked for less):
   * the key's rate-limit tier follows it, so a narrowed token spends the key's one budget.
   */
  readonly keyRole?: Role;
}

/** The console inside the desktop app: it talks over IPC from our own window, so it acts as admin. */
export const desktopCaller: Caller = { actor: 'desktop', keyId: null, role: 'admin', scopes: ['*'] };

/** Pilothouse itself (schedules, bootstrap). */
export const systemCaller: Caller = { actor: 'system', keyId: null, role: 'admin', scopes: ['*'] };

/** Pilothouse acting for a saga's step: the audit trail names the saga (`saga:<id>`), whose start names the key. */
export function sagaCaller(sagaId: string | undefined): Caller {
  return sagaId === undefined ? systemCaller : { ...systemCaller, actor: `saga:${sagaId}` };
}

/**
 * True when the caller signed in with a console session token, which rotating the session secret
 * ends; an OAuth access token's caller names its grant as `oauth:<id>` and is not one.
 */
export function signedInWithSession(caller: Caller): boolean {
  return caller.sessionId !== undefined && !caller.sessionId.startsWith('oauth:');
}

export function callerHasScope(caller: Caller, scope: string): boolean {
  return caller.scopes.includes('*') || caller.scopes.includes(scope);
}
