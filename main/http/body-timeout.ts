import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { PhError } from '../../contract/errors';

/** Default wait between two chunks of a request body before the request is answered 408. */
export const BODY_IDLE_TIMEOUT_MS = 10_000;

/**
 * Times out request bodies that stop arriving: each chunk must follow the last within `idleMs`, or
 * the request ends with 408 PH_REQUEST_TIMEOUT and its socket is closed, so a client trickling a
 * byte every few seconds cannot hold a socket and a parser for ever. Node's own `requestTimeout`
 * (set by the server as well) still bounds the whole request.
 */
export function limitBodyIdleTime(app: FastifyInstance, idleMs: number): void {
  // Callback style: most requests (every GET) have no body, and those pass without a promise or a stream.
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (!hasBody(request.headers)) {
      done(null, payload);
      return;
    }
    const guard = new IdleGuard(idleMs, () => {
      void reply.header('connection', 'close');
      request.log.warn({ idleMs }, 'request body stalled');
    });
    payload.on('error', (err) => guard.destroy(err));
    done(null, payload.pipe(guard));
  });
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

class IdleGuard extends Transform {
  #timer: NodeJS.Timeout;

  constructor(
    private readonly idleMs: number,
    private readonly onTimeout: () => void,
  ) {
    super();
    this.#timer = this.#arm();
  }

  #arm(): NodeJS.Timeout {
    return setTimeout(() => {
      this.onTimeout();
      this.destroy(new PhError('PH_REQUEST_TIMEOUT', `No byte of the request body arrived for ${this.idleMs} ms`));
    }, this.idleMs).unref();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
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
