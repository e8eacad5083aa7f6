import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Value } from '@sinclair/typebox/value';
import type { RawData, WebSocket } from 'ws';
import { PhError, toErrorBody } from '../../contract/errors';
import type { EventPayload } from '../../contract/events';
import { RevocationSchema } from '../../contract/ops/security';
import { closeCodes } from '../../contract/realtime-frames';
import { signedInWithSession, type Caller } from '../core';
import type { Logger } from '../logger';
import { Authenticator, type AuthSource } from '../security';
import type { Connection } from './connection';
import { parseClientFrame } from './protocol';

/** Where a credential came from, for the failed-authentication throttle. */
export const sourceOf = (req: IncomingMessage): AuthSource => ({ address: req.socket.remoteAddress ?? 'unknown', transport: 'ws' });

export type Revocation = EventPayload<'auth.revoked'>;

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
    (revocation.allSessions && signedInWithSession(caller))
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

/** Frames a client may send before its credential is checked; more are dropped. */
const EARLY_FRAMES = 64;

export interface AdmissionDeps {
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  readonly authDeadlineMs: number;
  /** Makes an authenticated socket a connection of the hub; null when the hub refused it (and closed it). */
  readonly admit: (ws: WebSocket, caller: Caller, socket: Duplex) => Connection | null;
  readonly onMessage: (connection: Connection, data: RawData) => void;
}

/**
 * Who may talk to the hub: the credential comes in the upgrade's Authorization header or, since
 * browsers cannot set headers on an upgrade, in a first `auth` frame within `authDeadlineMs`.
 * Frames that arrive while the credential is checked are held and run, in order, once admitted.
 */
export class HubAdmission {
  constructor(private readonly deps: AdmissionDeps) {}

  accept(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const early: RawData[] = [];
    let admitted: Connection | null = null;
    ws.on('error', (err) => this.deps.logger.debug({ err: err.message }, 'realtime socket error'));
    const headerCredential = Authenticator.bearer(req.headers.authorization);
    let timer: NodeJS.Timeout | null = null;
    const admit = (caller: Caller | null): void => {
      if (timer !== null) clearTimeout(timer);
      if (ws.readyState !== ws.OPEN) return;
      if (caller === null) return this.#reject(ws);
      admitted = this.deps.admit(ws, caller, socket);
      if (admitted === null) return;
      for (const data of early.splice(0)) this.deps.onMessage(admitted, data);
    };
    ws.on('message', (data) => {
      if (admitted !== null) return this.deps.onMessage(admitted, data);
      if (headerCredential !== undefined || early.length > 0) {
        if (early.length < EARLY_FRAMES) early.push(data);
        return;
      }
      // The first frame must authenticate (browsers cannot set headers on an upgrade).
      early.push(data);
      let token: unknown;
      try {
        const frame = parseClientFrame(data.toString());
        token = frame.type === 'auth' ? frame.token : undefined;
      } catch {
        token = undefined;
      }
      early.length = 0;
      if (typeof token !== 'string') return this.#reject(ws);
      void this.deps.authenticator.authenticate(token, sourceOf(req)).then(admit, (err: unknown) => this.#unavailable(ws, err));
    });
    if (headerCredential !== undefined) {
      void this.deps.authenticator.authenticate(headerCredential, sourceOf(req)).then(admit, (err: unknown) => this.#unavailable(ws, err));
    } else {
      timer = setTimeout(() => {
        if (admitted === null) this.#reject(ws);
      }, this.deps.authDeadlineMs);
      timer.unref();
    }
  }

  #reject(ws: WebSocket): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'error', ...new PhError('PH_UNAUTHENTICATED').toBody() }));
    ws.close(closeCodes.policy, 'unauthenticated');
  }

  /** The credential could not be checked (the key store failed): not a refusal, so the client retries. */
  #unavailable(ws: WebSocket, err: unknown): void {
    if (err instanceof PhError && err.code === 'PH_AUTH_THROTTLED') {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify({ type: 'error', ...err.toBody() }));
      ws.close(closeCodes.policy, 'throttled');
      return;
    }
    this.deps.logger.warn({ err }, 'realtime: authentication failed to run');
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'error', ...new PhError('PH_UNAVAILABLE', 'Could not check the credential; try again').toBody() }));
    ws.close(closeCodes.tryAgain, 'try again later');
  }
}
