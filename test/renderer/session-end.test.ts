import { describe, expect, it } from 'vitest';
import { sessionEndMessage } from '../../renderer/src/client/session-end';

const now = Date.parse('2026-12-05T06:00:00Z');
const later = '2026-12-05T18:00:00Z';

describe('the sign-in page says why the server ended the session', () => {
  it('names a revoked key from the hub’s error frame before its 1008 close', () => {
    expect(sessionEndMessage({ closeReason: 'revoked', message: 'The credential was revoked (key-revoked)' }, later, now)).toBe(
      'Your session ended: the API key it was signed in with was revoked. Sign in again with a valid key.',
    );
    expect(sessionEndMessage({ closeReason: 'revoked', message: 'The credential was revoked (signed-out)' }, later, now)).toMatch(
      /signed out/,
    );
  });

  it('says the session expired when a 401 comes after its expiry', () => {
    expect(
      sessionEndMessage({ message: 'A valid API key, session token or OAuth access token is required' }, '2026-12-05T05:00:00Z', now),
    ).toBe('Your session expired. Sign in again.');
  });

  it('says the key may have been revoked, with the server’s words, for a 401 before expiry', () => {
    const said = sessionEndMessage({ message: 'A valid API key, session token or OAuth access token is required' }, later, now);
    expect(said).toMatch(/^The server no longer accepts this session: its key may have been revoked/);
    expect(said).toContain('A valid API key, session token or OAuth access token is required');
  });
});
