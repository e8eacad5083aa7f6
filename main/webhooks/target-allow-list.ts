import { PhError } from '../../contract/errors';
import { defaultAllowedTargets, OutboundReach, type HostLookup } from '../security';

export interface WebhookReachOptions {
  /** `webhooks.allowCidrs`: CIDRs the admin allows beyond loopback and the private LAN ranges. */
  readonly allowCidrs: readonly string[];
  /** This node's HTTP port, refused on its own addresses. */
  readonly ownPort: () => number | null;
  /** The node's Redis, never a destination. */
  readonly redis: { host: string; port: number } | null;
  /** Its Sentinels, never destinations either. */
  readonly sentinels?: readonly { host: string; port: number }[];
  readonly lookup?: HostLookup;
}

/**
 * Where webhooks may be sent: the outbound-reach policy health checks and the gateway use
 * (main/security), on the default ranges plus `webhooks.allowCidrs`: never link-local,
 * unspecified, multicast or broadcast, never this node's own API or its Redis.
 */
export function webhookReach(options: WebhookReachOptions): OutboundReach {
  return new OutboundReach({
    allowed: [...defaultAllowedTargets, ...options.allowCidrs],
    setting: 'webhooks.allowCidrs',
    ownHttpPort: options.ownPort,
    redis: options.redis,
    sentinels: options.sentinels ?? [],
    ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
    refused: (host, port, why) =>
      new PhError('PH_WEBHOOK_TARGET_REFUSED', `${host}:${port}: ${why}`, { field: 'url', details: { host, port } }),
  });
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
