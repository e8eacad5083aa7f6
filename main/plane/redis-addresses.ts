/** Where the node's own Redis listens: addresses health checks, the gateway, backup replicas and webhooks must never reach. */
import type { Config } from '../config';
import { redisTarget } from '../redis';

/** The `--redis-sentinels` addresses: never a health check's, the gateway's or a webhook's target. */
export function sentinelAddresses(config: Config): { host: string; port: number }[] {
  return redisTarget(config)?.sentinels?.map((s) => ({ host: s.host ?? '', port: s.port ?? 26379 })) ?? [];
}

/** Where the node's Redis listens, which checks and the gateway must never reach. */
export function redisAddressOf(url: string | undefined): { host: string; port: number } | null {
  if (url === undefined || !URL.canParse(url)) return null;
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) };
}
