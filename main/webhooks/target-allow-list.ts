import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Where webhooks may be sent. Same semantics as the health checks' allowed targets (the two should
 * become one function): loopback and private LAN ranges by default plus what the admin adds; never
 * link-local (cloud metadata lives there), unspecified, multicast or broadcast; never this node's
 * own HTTP port on any of its addresses.
 */
export interface TargetPolicy {
  /** Extra CIDRs (`203.0.113.0/24`, `2001:db8::/32`) the admin allows beyond loopback and private ranges. */
  readonly allowCidrs: readonly string[];
  /** This node's HTTP port, refused on its own addresses. */
  readonly ownPort: () => number | null;
}

const allowedByDefault = new BlockList();
allowedByDefault.addSubnet('127.0.0.0', 8, 'ipv4');
allowedByDefault.addSubnet('10.0.0.0', 8, 'ipv4');
allowedByDefault.addSubnet('172.16.0.0', 12, 'ipv4');
allowedByDefault.addSubnet('192.168.0.0', 16, 'ipv4');
allowedByDefault.addAddress('::1', 'ipv6');
allowedByDefault.addSubnet('fc00::', 7, 'ipv6');

const neverAllowed = new BlockList();
neverAllowed.addSubnet('169.254.0.0', 16, 'ipv4');
neverAllowed.addSubnet('0.0.0.0', 8, 'ipv4');
neverAllowed.addSubnet('224.0.0.0', 4, 'ipv4');
neverAllowed.addAddress('255.255.255.255', 'ipv4');
neverAllowed.addSubnet('fe80::', 10, 'ipv6');
neverAllowed.addAddress('::', 'ipv6');
neverAllowed.addSubnet('ff00::', 8, 'ipv6');

/** `::ffff:169.254.1.1` is the IPv4 address it wraps, for every check below. */
function unwrap(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

function ownAddresses(): Set<string> {
  const own = new Set(['127.0.0.1', '::1', '0.0.0.0', '::']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) own.add(unwrap(a.address));
  return own;
}

/** Why a resolved destination is refused, or null when it may be reached. */
export function refusedTarget(rawAddress: string, port: number, policy: TargetPolicy): string | null {
  const address = unwrap(rawAddress);
  if (isIP(address) === 0) return `${rawAddress} is not an IP address`;
  const family = familyOf(address);
  if (neverAllowed.check(address, family)) return `${address} is link-local, unspecified or multicast`;
  const loopback = address.startsWith('127.') || address === '::1';
  const ownPort = policy.ownPort();
  if (ownPort !== null && port === ownPort && (loopback || ownAddresses().has(address))) return `${address}:${port} is this node's own API`;
  if (allowedByDefault.check(address, family)) return null;
  const extra = new BlockList();
  for (const cidr of policy.allowCidrs) {
    const [net, bits] = cidr.split('/');
    if (net !== undefined && isIP(net) !== 0) extra.addSubnet(net, Number(bits ?? (isIP(net) === 6 ? 128 : 32)), familyOf(net));
  }
  return extra.check(address, family) ? null : `${address} is outside the allowed ranges (loopback, private LAN, and the admin's list)`;
}

/** Checks what can be checked without resolving: the scheme, no credentials in the URL. */
export function refusedUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed (they would be logged)';
  return null;
}

export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}
