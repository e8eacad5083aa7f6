/** What the console knew when the server stopped taking its session token. */
export interface SessionRefusal {
  /** The hub's close reason (`revoked`, `unauthenticated`), when the WebSocket was closed on it (1008). */
  readonly closeReason?: string;
  /** The server's message: the hub's error frame before the close, or the 401's body. */
  readonly message?: string;
}

const REVOKED_BECAUSE: Record<string, string> = {
  'key-revoked': 'the API key it was signed in with was revoked',
  'signed-out': 'it was signed out (in another tab or by sessions.logout)',
  'secret-rotated': 'the session signing secret was rotated, which ends every session',
  'token-revoked': 'its OAuth grant was revoked',
};

/**
 * The sentence the sign-in page shows after the console was signed out by the server, so the
 * operator knows why rather than landing on an empty form. The hub names a revocation's reason in
 * its error frame (`The credential was revoked (key-revoked)`); a plain 401 does not say, so an
 * expiry is told apart by the session's own expiry time.
 */
export function sessionEndMessage(refusal: SessionRefusal, expiresAt: string, now: number): string {
  const reason = /revoked \(([a-z-]+)\)/.exec(refusal.message ?? '')?.[1];
  const because = reason === undefined ? undefined : REVOKED_BECAUSE[reason];
  if (because !== undefined) return `Your session ended: ${because}. Sign in again with a valid key.`;
  if (now >= Date.parse(expiresAt)) return 'Your session expired. Sign in again.';
  if (refusal.closeReason === 'revoked') return 'Your session ended: its key or the session was revoked. Sign in again with a valid key.';
  return `The server no longer accepts this session: its key may have been revoked or the session ended (${refusal.message ?? 'PH_UNAUTHENTICATED'}). Sign in again.`;
}
