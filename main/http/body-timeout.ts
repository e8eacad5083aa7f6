import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { PhError } from '../../contract/errors';

/** Default wait between two chunks of a request body before the request is answered 408. */
export const BODY_IDLE_TIMEOUT_MS = 10_000;
/** The one body type a route reads as a stream (backup/peer-routes.ts). */
const STREAMED_TYPE = 'application/octet-stream';

/**
 * Times out request bodies that stop arriving: each chunk must follow the last within `idleMs`, or
 * the request ends with 408 PH_REQUEST_TIMEOUT and its socket is closed, so a client trickling a
 * byte every few seconds cannot hold a socket and a parser for ever. Node's own `requestTimeout`
 * (set by the server as well) still bounds the whole request.
 *
 * A body the server parses (JSON, forms, the gateway's buffers) is watched where it is, which saves
 * a cheap operation call (`cache.get`) 7% of its main-thread instructions against piping it through
 * a stream of ours (callgrind, 5,000 calls a side). A body handed to its route as a stream
 * (`application/octet-stream`, a peer replica's file) still goes through a guard stream, so that
 * the route's pipeline, which destroys its source on error, destroys ours and not the socket the
 * 408 is sent on.
 */
export function limitBodyIdleTime(app: FastifyInstance, idleMs: number): void {
  // Callback style: most requests (every GET) have no body, and those pass without a promise or a timer.
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (!hasBody(request.headers)) {
      done(null, payload);
      return;
    }
    const stalled = (): void => {
      void reply.header('connection', 'close');
      request.log.warn({ idleMs }, 'request body stalled');
    };
    if (!(request.headers['content-type'] ?? '').startsWith(STREAMED_TYPE)) {
      watchBody(payload as IncomingMessage, idleMs, stalled);
      done(null, payload);
      return;
    }
    const guard = new IdleGuard(idleMs, stalled);
    payload.on('error', (err) => guard.destroy(err));
    // A reader that fails with the guard has its own listener; this one keeps a guard nobody reads
    // (a 413 answered from Content-Length alone, a 401 or 415 before parsing) from throwing its
    // timeout as an unhandled 'error' event, which ended the process 10 s after such an answer.
    guard.on('error', (err) => request.log.debug({ err }, 'request body guard failed'));
    // Once the answer is out, nothing will read the rest of the body: its timer has nothing to guard.
    reply.raw.once('close', () => guard.destroy());
    done(null, payload.pipe(guard));
  });
}

/**
 * Refreshes a timer on every chunk of `body` until it ends. Listening for chunks would start the
 * body flowing before the parser listens (a later hook may wait, on Redis for one): so the body is
 * paused again at once, and the parser resumes it once it reads (Fastify's `rawBody` does), with
 * every chunk still buffered. When the timer runs out the parser is failed with
 * PH_REQUEST_TIMEOUT, which it answers with 408; the socket is not destroyed, so that answer can
 * still be sent before the connection closes.
 */
function watchBody(body: IncomingMessage, idleMs: number, onTimeout: () => void): void {
  const timer = setTimeout(() => {
    stop();
    if (body.complete) return;
    onTimeout();
    const error = new PhError('PH_REQUEST_TIMEOUT', `No byte of the request body arrived for ${idleMs} ms`);
    // Only a reader that listens can be told; a body nobody reads ends with its connection.
    if (body.listenerCount('error') > 0) body.emit('error', error);
  }, idleMs).unref();
  const refresh = (): void => void timer.refresh();
  const stop = (): void => {
    clearTimeout(timer);
    body.off('data', refresh);
    body.off('end', stop);
    body.off('close', stop);
  };
  body.on('data', refresh);
  body.pause();
  body.once('end', stop);
  body.once('close', stop);
}

/**
 * A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3), and one with
 * `Content-Length: 0` has none either: no byte can stall, so there is nothing to time.
 */
function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** A pass-through that fails once no chunk has come for `idleMs`: for bodies read as streams. */
class IdleGuard extends Transform {
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly idleMs: number,
    private readonly onTimeout: () => void,
  ) {
    super();
    this.#timer = setTimeout(() => {
      this.onTimeout();
      this.destroy(new PhError('PH_REQUEST_TIMEOUT', `No byte of the request body arrived for ${this.idleMs} ms`));
    }, this.idleMs).unref();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#timer.refresh();
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    clearTimeout(this.#timer);
    done();
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    clearTimeout(this.#timer);
    done(err);
  }
}
