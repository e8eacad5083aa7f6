import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PhError } from '../../contract/errors';

/** What health checks and the gateway may reach when the admin has not said: loopback and the private LAN ranges. */
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
 * Never reachable, whatever the allow-list says: link-local (cloud metadata at 169.254.169.254,
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

export interface TargetPolicyOptions {
  /** `discovery.allowedTargets`: CIDRs, single addresses and host names. */
  readonly allowed: readonly string[];
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
}

const systemLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));

/**
 * The allow-list of what health checks and the gateway may connect to. A host name is resolved
 * here and every address it resolves to is checked; the caller then connects to the address this
 * returns, never to the name again, so a DNS answer that changes between check and connect
 * (rebinding) cannot swap the target.
 */
export class TargetPolicy {
  readonly #cidrs = new BlockList();
  readonly #names: ReadonlySet<string>;
  readonly #lookup: HostLookup;

  constructor(private readonly options: TargetPolicyOptions) {
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
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const literal = isIP(bare);
    if (literal !== 0) {
      this.#check(bare, port, false, host);
      return { address: unmapped(bare), family: isIP(unmapped(bare)) === 6 ? 6 : 4 };
    }
    const named = this.#names.has(normalizeName(bare));
    let addresses: readonly ResolvedTarget[];
    try {
      addresses = await this.#lookup(bare);
    } catch {
      throw refused(host, port, 'the name does not resolve');
    }
    if (addresses.length === 0) throw refused(host, port, 'the name does not resolve');
    for (const { address } of addresses) this.#check(address, port, named, host);
    const first = addresses[0] as ResolvedTarget;
    return { address: unmapped(first.address), family: first.family };
  }

  /** The same check for an address literal, without resolving: registration refuses these at once. */
  checkLiteral(host: string, port: number): void {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) this.#check(bare, port, false, host);
  }

  #check(raw: string, port: number, allowedByName: boolean, shown: string): void {
    const address = unmapped(raw);
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (forbidden.check(address, type)) throw refused(shown, port, 'link-local, multicast and unspecified addresses are never reached');
    // Port first: isSelf reads the interface list, which the gateway must not do on every request.
    if (port === this.options.ownHttpPort() && isSelf(address)) throw refused(shown, port, "that is this node's own server");
    if (this.#isRedis(address, port, shown)) throw refused(shown, port, "that is this node's Redis (or one of its Sentinels)");
    if (!allowedByName && !this.#cidrs.check(address, type)) throw refused(shown, port, 'it is not in discovery.allowedTargets');
  }

  #isRedis(address: string, port: number, shown: string): boolean {
    const { redis, sentinels = [], redisConnected } = this.options;
    const connected = redisConnected?.() ?? null;
    for (const r of [redis, ...sentinels, connected]) {
      if (r === null || r.port !== port) continue;
      const host = normalizeName(unmapped(r.host.replace(/^\[|\]$/g, '')));
      if (host === address || host === normalizeName(shown) || (isSelf(host) && isSelf(address))) return true;
    }
    return false;
  }
}

function refused(host: string, port: number, why: string): PhError {
  return new PhError('PH_DISCOVERY_TARGET_FORBIDDEN', `Pilothouse may not connect to ${host}:${port}: ${why}`, {
    details: { host, port },
  });
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** `::ffff:169.254.169.254` is 169.254.169.254: check (and connect to) the IPv4 form. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** Loopback, or one of this machine's interface addresses (read each time: DHCP changes them). */
function isSelf(host: string): boolean {
  const address = unmapped(host);
  if (address === 'localhost' || address === '::1' || /^127\./.test(address)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.address === address) return true;
  }
  return false;
}
