import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { OutboundReach } from '../security';
import { portOf } from './target-allow-list';

export interface PostLimits {
  /** From the first byte sent to the whole answer read. */
  readonly timeoutMs: number;
  /** Bytes of the answer kept (the rest is read and dropped, so the connection ends cleanly). */
  readonly maxResponseBytes: number;
}

export interface PostOutcome {
  readonly statusCode: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  readonly response: string | null;
}

/**
 * Kept-alive connections to receivers. A pooled socket was checked by the lookup hook when it was
 * opened, and every request passes the same hook, so reuse never skips the allow-list.
 */
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 16 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16 }) };

export class TargetRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TargetRefused';
  }
}

/**
 * One POST with node's own client: no redirects are followed (a 3xx is an answer like any other),
 * the destination is checked against the allow-list on the address actually connected to (the
 * lookup hook refuses before the socket opens, so a DNS answer that changes after registration
 * cannot steer a delivery into link-local), a timeout covers the whole exchange, and the answer
 * is capped.
 */
export function postJson(
  rawUrl: string,
  headers: Record<string, string>,
  body: string,
  policy: OutboundReach,
  limits: PostLimits,
): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const url = new URL(rawUrl);
    const port = portOf(url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const refused = policy.refusal(host, port);
      if (refused !== null) return resolve({ statusCode: null, durationMs: elapsed(), error: `refused: ${refused}`, response: null });
    }
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err !== null) return callback(err, '', 4);
        const allowed = addresses.filter((a) => policy.refusal(a.address, port, hostname) === null);
        if (allowed.length === 0) {
          const reason = addresses.map((a) => policy.refusal(a.address, port, hostname)).join('; ');
          return callback(new TargetRefused(reason || `${hostname} did not resolve`), '', 4);
        }
        if ((options as { all?: boolean }).all === true)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
        const first = allowed[0] as LookupAddress;
        callback(null, first.address, first.family);
      });
    };
    const options: RequestOptions = {
      method: 'POST',
      hostname: host,
      port,
      path: `${url.pathname}${url.search}`,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'Pilothouse-Webhooks',
      },
      lookup,
      agent: url.protocol === 'https:' ? agents.https : agents.http,
    };
    let settled = false;
    const finish = (outcome: Omit<PostOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept >= limits.maxResponseBytes) return;
        const part = chunk.subarray(0, limits.maxResponseBytes - kept);
        chunks.push(part);
        kept += part.length;
        // A receiver that streams without end is cut off once the cap is reached.
        if (kept >= limits.maxResponseBytes) res.destroy();
      });
      const done = () => finish({ statusCode: res.statusCode ?? null, error: null, response: Buffer.concat(chunks).toString('utf8') });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${limits.timeoutMs} ms`));
    }, limits.timeoutMs);
    req.on('error', (err) => {
      const refused = err instanceof TargetRefused || err.name === 'TargetRefused';
      finish({ statusCode: null, error: refused ? `refused: ${err.message}` : err.message, response: null });
    });
    req.end(body);
  });
}
