import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { PhError } from '../../contract/errors';
import { parseIpLiteral, type IpLiteral } from './ip-literal';

/**
 * What Pilothouse may connect out to when the admin has not said: loopback and the private LAN
 * ranges. Health checks and the gateway (`discovery.allowedTargets`, which replaces it) and webhook
 * destinations (`webhooks.allowCidrs`, which adds to it) start from the same list.
 */
export const defaultAllowedTargets: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
  'localhost',
];

/**
 * Never reachable, whatever an allow-list says: link-local (cloud metadata at 169.254.169.254,
 * fe80::/10), "this host" 0.0.0.0/8 and `::` (which connect to the machine itself), multicast
 * and the broadcast address.
 */
const forbidden = new BlockList();
forbidden.addSubnet('169.254.0.0', 16, 'ipv4');
forbidden.addSubnet('0.0.0.0', 8, 'ipv4');
forbidden.addSubnet('224.0.0.0', 4, 'ipv4');
forbidden.addAddress('255.255.255.255', 'ipv4');
forbidden.addSubnet('fe80::', 10, 'ipv6');
forbidden.addAddress('::', 'ipv6');
forbidden.addSubnet('ff00::', 8, 'ipv6');

export interface ResolvedTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

export type HostLookup = (host: string) => Promise<readonly ResolvedTarget[]>;

export interface OutboundReachOptions {
  /** CIDRs, single addresses and host names. */
  readonly allowed: readonly string[];
  /** The setting the admin edits to change `allowed`, named in refusals. */
  readonly setting: string;
  /** The node's own HTTP port, read when a connection is checked (it is known once the server listens). */
  readonly ownHttpPort: () => number | null;
  /** The node's Redis (from `--redis-url`), never a target. */
  readonly redis: { host: string; port: number } | null;
  /** Its Sentinels (`--redis-sentinels`), never targets either. */
  readonly sentinels?: readonly { host: string; port: number }[];
  /** Where the node's Redis client is connected now (the master a Sentinel named), read at each check. */
  readonly redisConnected?: () => { host: string; port: number } | null;
  /** Name resolution; tests pass one that answers what a rebinding DNS server would. */
  readonly lookup?: HostLookup;
  /** The refusal as the caller's capability reports it (its own `PH_` code). */
  readonly refused: (host: string, port: number, why: string) => PhError;
}

const LISTED_MAX = 4096;

const systemLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));

/**
 * The one outbound-reach policy: what health checks, the gateway and webhook deliveries may
 * connect to. A host name is resolved here and every address it resolves to is checked; the
 * caller then connects to an address this approved, never to the name again, so a DNS answer that
 * changes between check and connect (rebinding) cannot swap the target.
 */
export class OutboundReach {
  readonly #cidrs = new BlockList();
  readonly #names: ReadonlySet<string>;
  readonly #lookup: HostLookup;
  /**
   * What the two block lists say of each address seen: `BlockList.check` builds a SocketAddress per
   * call, a visible share of a health check's or a proxied request's CPU, and its answer for an
   * address never changes while the lists do not. Cleared when full, so it stays small.
   */
  readonly #listed = new Map<string, { forbidden: boolean; allowed: boolean }>();

  constructor(private readonly options: OutboundReachOptions) {
    const names = new Set<string>();
    for (const rule of options.allowed) {
      const [address = '', bits] = rule.split('/');
      const family = isIP(address);
      if (family === 0) names.add(normalizeName(rule));
      else if (bits === undefined) this.#cidrs.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
      else this.#cidrs.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
    this.#names = names;
    this.#lookup = options.lookup ?? systemLookup;
  }

  /** Resolves `host`, checks every address it has, and returns the one to connect to. */
  async resolve(host: string, port: number): Promise<ResolvedTarget> {
    const literal = this.resolveNow(host, port);
    if (literal !== null) return literal;
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const named = this.#names.has(normalizeName(bare));
    let addresses: readonly ResolvedTarget[];
    try {
      addresses = await this.#lookup(bare);
    } catch {
      throw this.options.refused(host, port, 'the name does not resolve');
    }
    if (addresses.length === 0) throw this.options.refused(host, port, 'the name does not resolve');
    for (const { address } of addresses) this.#refuseIf(this.refusal(address, port, host, named), host, port);
    return connectable(parseIpLiteral((addresses[0] as ResolvedTarget).address) as IpLiteral);
  }

  /**
   * `resolve` for an address literal, answered at once (the gateway asks on every request): null
   * when `host` is a name, which only `resolve` looks up. Throws the refusal.
   */
  resolveNow(host: string, port: number): ResolvedTarget | null {
    const literal = parseIpLiteral(host);
    if (literal === null) return null;
    this.#refuseIf(this.#refusalOf(literal, port, host, false), host, port);
    return connectable(literal);
  }

  /** The same check for an address literal, without resolving: registration refuses these at once. */
  checkLiteral(host: string, port: number): void {
    this.resolveNow(host, port);
  }

  /**
   * Why an address may not be connected to on `port`, or null when it may. `shown` is the name it
   * was resolved from (the Redis check compares names too); `allowedByName` that the name itself is
   * on the allow-list, so its addresses need not be.
   */
  refusal(raw: string, port: number, shown: string = raw, allowedByName = false): string | null {
    const literal = parseIpLiteral(raw);
    if (literal === null) return `${raw} is not an IP address`;
    return this.#refusalOf(literal, port, shown, allowedByName);
  }

  #refusalOf(literal: IpLiteral, port: number, shown: string, allowedByName: boolean): string | null {
    // A zone id names an interface of this machine (`::1%lo`); a URL cannot carry one, nor the gateway dial it.
    if (literal.zoned) return 'an IPv6 address with a zone id (%interface) is never reached';
    const { address, family } = literal;
    const listed = this.#lists(address, family === 6 ? 'ipv6' : 'ipv4');
    if (listed.forbidden) return 'link-local, multicast and unspecified addresses are never reached';
    // Port first: isSelf reads the interface list, which the gateway must not do on every request.
    if (port === this.options.ownHttpPort() && isSelf(address)) return "that is this node's own API";
    if (this.#isRedis(address, port, shown)) return "that is this node's Redis (or one of its Sentinels)";
    if (!allowedByName && !listed.allowed) return `it is outside the allowed ranges: not in ${this.options.setting}`;
    return null;
  }

  #lists(address: string, type: 'ipv4' | 'ipv6'): { forbidden: boolean; allowed: boolean } {
    let listed = this.#listed.get(address);
    if (listed === undefined) {
      if (this.#listed.size >= LISTED_MAX) this.#listed.clear();
      listed = { forbidden: forbidden.check(address, type), allowed: this.#cidrs.check(address, type) };
      this.#listed.set(address, listed);
    }
    return listed;
  }

  #refuseIf(why: string | null, host: string, port: number): void {
    if (why !== null) throw this.options.refused(host, port, why);
  }

  #isRedis(address: string, port: number, shown: string): boolean {
    const { redis, sentinels = [], redisConnected } = this.options;
    for (const r of [redis, ...sentinels, redisConnected?.() ?? null]) {
      if (r === null || r.port !== port) continue;
      const host = parseIpLiteral(r.host)?.address ?? normalizeName(r.host);
      if (host === address || host === normalizeName(shown) || (isSelf(host) && isSelf(address))) return true;
    }
    return false;
  }
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The address a caller connects to: the canonical one checked (`::ffff:127.0.0.1` is dialled as 127.0.0.1). */
function connectable(literal: IpLiteral): ResolvedTarget {
  return { address: literal.address, family: literal.family };
}

/**
 * Loopback, or one of this machine's interface addresses (read each time: DHCP changes them).
 * `host` is a canonical address (parseIpLiteral) or a name; interface addresses are parsed the
 * same way, so no spelling of an address differs from the one compared.
 */
function isSelf(host: string): boolean {
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (parseIpLiteral(entry.address)?.address === host) return true;
  }
  return false;
}
