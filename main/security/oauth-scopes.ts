import { ROLE_SCOPE_PREFIX } from '../../contract/oauth';
import { roleAllows, roles, type Role } from '../../contract/roles';
import { OAuthError } from './oauth-error';

/** What a token may do: a role no higher than its key's, and key scopes no wider than its key's. */
export interface OAuthGrantScope {
  readonly role: Role;
  readonly scopes: readonly string[];
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space-delimited. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_SCOPE_TOKENS = 50;

/** `role:<role>` first, then the key scopes, space-separated: the `scope` a token response and introspection carry. */
export function scopeString(grant: OAuthGrantScope): string {
  return [`${ROLE_SCOPE_PREFIX}${grant.role}`, ...grant.scopes].join(' ');
}

/** Parses `scope` as `scopeString` wrote it (a token's claim); null when it is not one. */
export function parseScopeString(scope: string): OAuthGrantScope | null {
  const [first, ...rest] = scope.split(' ');
  const role = first?.slice(ROLE_SCOPE_PREFIX.length);
  if (first === undefined || !first.startsWith(ROLE_SCOPE_PREFIX) || !(roles as readonly string[]).includes(role ?? '')) return null;
  return { role: role as Role, scopes: rest };
}

/**
 * The grant a request for `requested` gets out of `available` (a key's role and scopes, or the grant
 * a refresh token carries): scopes only ever narrow. No scope asked for: all of `available`. A
 * `role:<r>` token lowers the role; any other token must be one of `available`'s scopes, or `*`
 * must be among them. Anything wider, or malformed, is `invalid_scope`.
 */
export function narrowScope(available: OAuthGrantScope, requested: string | undefined): OAuthGrantScope {
  if (requested === undefined || requested.trim() === '') return { role: available.role, scopes: [...available.scopes] };
  const tokens = [...new Set(requested.split(' ').filter((t) => t !== ''))];
  if (tokens.length > MAX_SCOPE_TOKENS || tokens.some((t) => !SCOPE_TOKEN.test(t) || t.length > 100))
    throw new OAuthError('invalid_scope', 'The scope is malformed: space-separated tokens of printable ASCII, at most 50');
  const roleTokens = tokens.filter((t) => t.startsWith(ROLE_SCOPE_PREFIX));
  if (roleTokens.length > 1) throw new OAuthError('invalid_scope', 'Ask for one role: scope');
  let role = available.role;
  if (roleTokens.length === 1) {
    const asked = (roleTokens[0] as string).slice(ROLE_SCOPE_PREFIX.length);
    if (!(roles as readonly string[]).includes(asked)) throw new OAuthError('invalid_scope', `There is no role ${JSON.stringify(asked)}`);
    if (!roleAllows(available.role, asked as Role))
      throw new OAuthError('invalid_scope', `The grant allows ${available.role} at most, not ${asked}`);
    role = asked as Role;
  }
  const wildcard = available.scopes.includes('*');
  const scopes = tokens.filter((t) => !t.startsWith(ROLE_SCOPE_PREFIX));
  const wider = scopes.filter((t) => !(available.scopes.includes(t) || (wildcard && t !== '*')));
  if (wider.length > 0) throw new OAuthError('invalid_scope', `Not granted to this client: ${wider.join(' ')}`);
  // Asking only for a role keeps the scopes the grant had: the role narrows, it does not drop them.
  return { role, scopes: scopes.length === 0 && roleTokens.length === 1 ? [...available.scopes] : scopes };
}

/** A caller's effective role and scopes under a token: never more than its key holds now. */
export function effective(token: OAuthGrantScope, key: OAuthGrantScope): OAuthGrantScope {
  const role = roleAllows(key.role, token.role) ? token.role : key.role;
  const scopes = key.scopes.includes('*') ? token.scopes : token.scopes.filter((s) => key.scopes.includes(s));
  return { role, scopes };
}
