import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { redactUrl } from '../security';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { connect } from 'node:net';
import { PhError } from '../../contract/errors';
import { defaultAllowedTargets, TargetPolicy, type ResolvedTarget } from './target-policy';
import type { CheckResult, ResolvedCheck } from './types';

/**
 * Probes for HTTP and TCP checks. Plain `node:http` with keep-alive agents: a check is one small
 * GET, and reusing the connection is what keeps a thousand checks a second cheap (no handshake
 * each time). The body is read only up to the check's cap, then the response is dropped. Every
 * target passes the allow-list first, and the socket goes to the address the allow-list checked.
 */
export class CheckRunners {
  readonly #http = new Agent({ keepAlive: true, maxFreeSockets: 1024, scheduling: 'lifo' });
  readonly #https = new HttpsAgent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });

  constructor(
    private readonly policy: TargetPolicy = new TargetPolicy({ allowed: defaultAllowedTargets, ownHttpPort: () => null, redis: null }),
  ) {}

  run(check: ResolvedCheck): Promise<CheckResult> {
    if (check.kind === 'http') return this.http(check);
    if (check.kind === 'tcp') return this.tcp(check);
    return Promise.resolve({ status: 'critical', output: 'A TTL check is fed by heartbeats, not run' });
  }

  async http(check: ResolvedCheck): Promise<CheckResult> {
    const url = new URL(check.url ?? '');
    const secure = url.protocol === 'https:';
    const started = performance.now();
    const allowed = await this.#allow(url.hostname, Number(url.port || (secure ? 443 : 80)));
    if (allowed instanceof PhError)
      return { status: 'critical', output: `HTTP ${check.method} ${redactUrl(check.url ?? '')}: ${allowed.message}` };
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
          lookup: pinnedLookup(allowed),
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
              output: `HTTP ${check.method} ${redactUrl(check.url ?? '')}: ${code} ${res.statusMessage ?? ''} in ${took} ms${body === '' ? '' : `\n${body}`}`,
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
        finish({
          status: 'critical',
          output: `HTTP ${check.method} ${redactUrl(check.url ?? '')}: no answer within ${check.timeoutMs} ms`,
        });
        req.destroy();
      }, check.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish({ status: 'critical', output: `HTTP ${check.method} ${redactUrl(check.url ?? '')}: ${err.code ?? err.message}` }),
      );
      req.end();
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }

  async tcp(check: ResolvedCheck): Promise<CheckResult> {
    const target = `${check.host}:${check.port}`;
    const allowed = await this.#allow(check.host, check.port);
    if (allowed instanceof PhError) return { status: 'critical', output: `TCP connect ${target}: ${allowed.message}` };
    return tcpConnect(check, target, allowed);
  }

  async #allow(host: string, port: number): Promise<ResolvedTarget | PhError> {
    try {
      return await this.policy.resolve(host, port);
    } catch (err) {
      if (err instanceof PhError) return err;
      throw err;
    }
  }
}

/** A lookup that answers with the address the allow-list checked, so DNS is not asked again. */
function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all === true) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as LookupFunction;
}

function tcpConnect(check: ResolvedCheck, target: string, allowed: ResolvedTarget): Promise<CheckResult> {
  const started = performance.now();
  return new Promise<CheckResult>((resolve) => {
    const socket = connect({ host: allowed.address, port: check.port });
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
