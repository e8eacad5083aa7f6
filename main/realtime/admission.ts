import type { IncomingMessage } from 'node:http';
import { Value } from '@sinclair/typebox/value';
import { toErrorBody, type PhError } from '../../contract/errors';
import type { EventPayload } from '../../contract/events';
import { RevocationSchema } from '../../contract/ops/security';
import type { AuthSource, Caller } from '../security';

export type Revocation = EventPayload<'auth.revoked'>;

/** Where an upgrade comes from, for the failed-authentication throttle. */
export const sourceOf = (req: IncomingMessage): AuthSource => ({ address: req.socket.remoteAddress ?? 'unknown', transport: 'ws' });

/** The raw HTTP answer to an upgrade from a throttled address: refused before it becomes a socket. */
export function throttledUpgradeResponse(err: PhError): string {
  const body = JSON.stringify(toErrorBody(err));
  const { retryAfterSeconds } = err.details as { retryAfterSeconds: number };
  return (
    `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${retryAfterSeconds}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** True when the revocation ends a connection made by `caller`. */
export function revokes(revocation: Revocation, caller: Caller): boolean {
  return (
    (revocation.keyId !== null && caller.keyId === revocation.keyId) ||
    (revocation.sessionId !== null && caller.sessionId === revocation.sessionId) ||
    (revocation.allSessions && caller.sessionId !== undefined)
  );
}

/** The revocation in another node's `auth.revoked` frame; a malformed one names nothing. */
export function revocationIn(frame: Buffer): Revocation {
  const none: Revocation = { keyId: null, sessionId: null, allSessions: false, reason: 'key-revoked' };
  try {
    const payload = (JSON.parse(frame.toString('utf8')) as { payload?: unknown }).payload;
    return Value.Check(RevocationSchema, payload) ? payload : none;
  } catch {
    return none;
  }
}
