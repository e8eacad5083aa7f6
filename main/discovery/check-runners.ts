import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { CheckResult, ResolvedCheck } from './types';

/**
 * Probes for HTTP and TCP checks. Plain `node:http` with keep-alive agents: a check is one small
 * GET, and reusing the connection is what keeps a thousand checks a second cheap (no handshake
 * each time). The body is read only up to the check's cap, then the response is dropped.
 */
export class CheckRunners {
  readonly #http = new Agent({ keepAlive: true, maxFreeSockets: 1024, scheduling: 'lifo' });
  readonly #https = new HttpsAgent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });

  run(check: ResolvedCheck): Promise<CheckResult> {
    if (check.kind === 'http') return this.http(check);
    if (check.kind === 'tcp') return tcp(check);
    return Promise.resolve({ status: 'critical', output: 'A TTL check is fed by heartbeats, not run' });
  }

  http(check: ResolvedCheck): Promise<CheckResult> {
    const url = new URL(check.url ?? '');
    const secure = url.protocol === 'https:';
    const started = performance.now();
    return new Promise<CheckResult>((resolve) => {
      let settled = false;
      const finish = (result: CheckResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const req = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: check.method,
          agent: secure ? this.#https : this.#http,
          headers: { 'user-agent': 'pilothouse-health-check', accept: '*/*' },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = (): void => {
            const code = res.statusCode ?? 0;
            const body = Buffer.concat(chunks).subarray(0, check.maxBodyBytes).toString('utf8');
            const status =
              check.expectStatus !== null
                ? code === check.expectStatus
                  ? 'passing'
                  : 'critical'
                : code >= 200 && code < 300
                  ? 'passing'
                  : code === 429
                    ? 'warning'
                    : 'critical';
            const took = Math.round(performance.now() - started);
            finish({
              status,
              output: `HTTP ${check.method} ${check.url}: ${code} ${res.statusMessage ?? ''} in ${took} ms${body === '' ? '' : `\n${body}`}`,
            });
          };
          res.on('data', (chunk: Buffer) => {
            if (size < check.maxBodyBytes) chunks.push(chunk);
            size += chunk.length;
            if (size > check.maxBodyBytes) {
              done();
              res.destroy();
            }
          });
          res.on('end', done);
          res.on('error', done);
        },
      );
      const timer = setTimeout(() => {
        finish({ status: 'critical', output: `HTTP ${check.method} ${check.url}: no answer within ${check.timeoutMs} ms` });
        req.destroy();
      }, check.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish({ status: 'critical', output: `HTTP ${check.method} ${check.url}: ${err.code ?? err.message}` }),
      );
      req.end();
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

function tcp(check: ResolvedCheck): Promise<CheckResult> {
  const target = `${check.host}:${check.port}`;
  const started = performance.now();
  return new Promise<CheckResult>((resolve) => {
    const socket = connect({ host: check.host, port: check.port });
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(check.timeoutMs, () =>
      finish({ status: 'critical', output: `TCP connect ${target}: no answer within ${check.timeoutMs} ms` }),
    );
    socket.once('connect', () =>
      finish({ status: 'passing', output: `TCP connect ${target}: connected in ${Math.round(performance.now() - started)} ms` }),
    );
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish({ status: 'critical', output: `TCP connect ${target}: ${err.code ?? err.message}` }),
    );
  });
}
