import { randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import { OAUTH_ISSUER } from '../../contract/oauth';
import type { Clock } from '../clock';
import type { Caller } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { OAuthGrants } from './oauth-grants';
import { effective, parseScopeString, scopeString, type OAuthGrantScope } from './oauth-scopes';
import type { OAuthSigningKeys } from './oauth-signing-keys';

/** RFC 9068's media type for JWT access tokens, in the `typ` header. */
const ACCESS_TOKEN_TYPE = 'at+jwt';
/**
 * Every access token starts with this: base64url of `{"alg":"EdDSA",` (15 bytes, so it ends on a
 * 4-character boundary). Session tokens (HS256) never do, so the authenticator tells them apart
 * without parsing.
 */
export const ACCESS_TOKEN_PREFIX = Buffer.from('{"alg":"EdDSA",').toString('base64url');
/** Verified tokens remembered at once; beyond this the oldest is forgotten (verified again if seen). */
const VERIFIED_KEPT = 10_000;

/** An access token's claims, once its signature, issuer, audience, type and lifetime checked out. */
export interface AccessClaims {
  readonly keyId: string;
  readonly grantId: string;
  readonly scope: OAuthGrantScope;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/**
 * Mints and verifies access tokens: EdDSA JWTs (RFC 9068 profile: `typ` at+jwt, `kid` in the header,
 * `sub` and `client_id` the key id, `sid` the grant, `scope`). A token's signature is checked once;
 * the verdict is remembered until it expires, so a program sending the same token on every request
 * costs a map lookup. What can end it early is asked on every request anyway: whether its grant was
 * revoked (memory) and whether its key still is (the key store's prepared lookup), and the caller
 * gets the key's current role and scopes, narrowed by the token's.
 */
export class AccessTokens {
  readonly #verified = new Map<string, AccessClaims>();

  constructor(
    private readonly signing: OAuthSigningKeys,
    private readonly grants: OAuthGrants,
    private readonly keys: ApiKeyStore,
    private readonly clock: Clock,
    readonly ttlSeconds: number,
  ) {}

  async mint(keyId: string, grantId: string, scope: OAuthGrantScope): Promise<{ token: string; expiresIn: number }> {
    const key = this.signing.signingKey();
    const iat = Math.floor(this.clock.now() / 1000);
    const token = await new SignJWT({ client_id: keyId, scope: scopeString(scope), sid: grantId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(OAUTH_ISSUER)
      .setAudience(OAUTH_ISSUER)
      .setSubject(keyId)
      .setJti(randomBytes(16).toString('base64url'))
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(key.privateKey);
    return { token, expiresIn: this.ttlSeconds };
  }

  /** The caller for a live token, or null when it is not ours, expired, its grant revoked or its key gone. */
  async verify(token: string): Promise<Caller | null> {
    const claims = await this.claims(token);
    if (claims === null || this.grants.isRevoked(claims.grantId)) return null;
    const key = this.keys.callerForId(claims.keyId);
    if (key === null) return null;
    const { role, scopes } = effective(claims.scope, key);
    return {
      actor: key.actor,
      keyId: claims.keyId,
      role,
      scopes,
      sessionId: `oauth:${claims.grantId}`,
      ...(role === key.role ? {} : { keyRole: key.role }),
    };
  }

  /** The claims of a token that verifies and has not expired (revocation not considered), or null. */
  async claims(token: string): Promise<AccessClaims | null> {
    let claims = this.#verified.get(token);
    if (claims === undefined) {
      const checked = await this.#check(token);
      if (checked === null) return null;
      claims = checked;
      if (this.#verified.size >= VERIFIED_KEPT) this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(token, claims);
    }
    if (this.clock.now() >= claims.exp * 1000) {
      this.#verified.delete(token);
      return null;
    }
    return claims;
  }

  async #check(token: string): Promise<AccessClaims | null> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return null;
    try {
      const { kid } = decodeProtectedHeader(token);
      const key = typeof kid === 'string' ? this.signing.verificationKey(kid) : null;
      if (key === null) return null;
      const { payload } = await jwtVerify(token, key.publicKey, {
        issuer: OAUTH_ISSUER,
        audience: OAUTH_ISSUER,
        algorithms: ['EdDSA'],
        typ: ACCESS_TOKEN_TYPE,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['sub', 'sid', 'scope', 'jti', 'iat', 'exp'],
      });
      const scope = typeof payload.scope === 'string' ? parseScopeString(payload.scope) : null;
      if (scope === null || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
      return {
        keyId: payload.sub,
        grantId: payload.sid,
        scope,
        iat: payload.iat as number,
        exp: payload.exp as number,
        jti: payload.jti as string,
      };
    } catch {
      return null;
    }
  }
}
