import type { IncomingHttpHeaders } from 'node:http';

/**
 * RFC 9110 §7.6.1: headers that describe one connection, not the message. A proxy must not pass
 * them on in either direction, nor any header the Connection header names. Upstream, undici
 * refuses Keep-Alive, Upgrade, Connection and Transfer-Encoding outright (UND_ERR_INVALID_ARG);
 * Proxy-Authorization is a credential for this hop only.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The header names a Connection header lists, lower-cased. */
function connectionTokens(connection: string | string[] | undefined): ReadonlySet<string> {
  if (connection === undefined) return new Set();
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
}

/**
 * Whether `name` (lower case) must not cross the proxy, given the Connection header of the
 * message it came in: the caller passes that header from the original message, because the copy
 * it filters may have lost it already (reply-from drops Connection before handing headers over).
 */
export function hopByHopFilter(connection: string | string[] | undefined): (name: string) => boolean {
  const named = connectionTokens(connection);
  return named.size === 0 ? (name) => HOP_BY_HOP.has(name) : (name) => HOP_BY_HOP.has(name) || named.has(name);
}

/** A copy of `headers` without the hop-by-hop ones: for an upstream's answer on its way to the client. */
export function withoutHopByHop<H extends IncomingHttpHeaders | Record<string, unknown>>(headers: H): H {
  const drop = hopByHopFilter(headers.connection as string | string[] | undefined);
  const out: Record<string, unknown> = {};
  for (const name in headers) if (!drop(name.toLowerCase())) out[name] = headers[name];
  return out as H;
}
