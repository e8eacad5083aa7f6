import { isIP, SocketAddress } from 'node:net';

/** An IP address literal in the one spelling the reach checks compare and connect to. */
export interface IpLiteral {
  /** IPv4 dotted quad, or RFC 5952 IPv6; an IPv4-mapped IPv6 address is its IPv4 address. */
  readonly address: string;
  readonly family: 4 | 6;
  /** It carried an IPv6 zone id (`fe80::1%eth0`): an interface of this machine, never dialled. */
  readonly zoned: boolean;
}

const SEEN_MAX = 4096;

/**
 * Parsed literals by their spelling: the gateway parses its upstream's address on every request,
 * and SocketAddress is a call into the runtime. Cleared when full, so it stays small.
 */
const seen = new Map<string, IpLiteral | null>();

/**
 * Parses `host` (bare, or in URL brackets) as an IP literal, or null when it is a name. IPv6 has
 * many spellings of one address (`::ffff:7f00:1`, `0:0:0:0:0:ffff:127.0.0.1` and
 * `::ffff:127.0.0.1` are all 127.0.0.1; `0000::1` is `::1`), and so has IPv4 (below), so every
 * check reads the canonical form this returns, never the text it was given.
 */
export function parseIpLiteral(host: string): IpLiteral | null {
  let parsed = seen.get(host);
  if (parsed === undefined) {
    if (seen.size >= SEEN_MAX) seen.clear();
    parsed = parse(host);
    seen.set(host, parsed);
  }
  return parsed;
}

function parse(host: string): IpLiteral | null {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 0) {
    const v4 = otherIpv4Spelling(bare);
    return v4 === null ? null : { address: v4, family: 4, zoned: false };
  }
  if (family === 4) return { address: bare, family: 4, zoned: false };
  const zone = bare.indexOf('%');
  // SocketAddress drops a zone id without a word; it is kept apart so the caller can refuse it.
  const address = new SocketAddress({ address: zone === -1 ? bare : bare.slice(0, zone), family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped !== null) return { address: mapped[1] as string, family: 4, zoned: zone !== -1 };
  return { address, family: 6, zoned: zone !== -1 };
}

/** Only digits, hex digits, `x` and dots, ending in a number (decimal or 0x hex), optionally a final dot. */
const NUMERIC_HOST = /^[0-9A-Fa-fxX.]+$/;
const ENDS_IN_NUMBER = /(?:^|\.)(?:\d+|0[xX][0-9A-Fa-f]*)\.?$/;

/**
 * IPv4 as inet_aton (so getaddrinfo, so every connect) and the WHATWG URL parser also read it:
 * `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`, `127.1` and `127.0.0.1.` are all 127.0.0.1. Such a
 * "name" never needs a lookup to reach its address, so it is read here as that address, by the URL
 * parser (which canonicalises a host that ends in a number) rather than by a parser of our own.
 * A host that is not such a number stays a name (null).
 */
function otherIpv4Spelling(host: string): string | null {
  if (!NUMERIC_HOST.test(host) || !ENDS_IN_NUMBER.test(host)) return null;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return null;
  }
  return isIP(hostname) === 4 ? hostname : null;
}
