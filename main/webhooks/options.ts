/** How webhooks are delivered; every field has a default that suits a LAN. */
export interface WebhookOptions {
  /** A delivery keeps being retried this long after it was created; past it, the endpoint is turned off. Default 24 h. */
  readonly retryWindowMs: number;
  /** First retry waits up to this (full jitter: a random time from 0); it doubles each attempt. Default 5 s. */
  readonly baseDelayMs: number;
  /** No single wait is longer than this. Default 1 h. */
  readonly maxDelayMs: number;
  /** The whole request, connect to last byte. Default 10 s. */
  readonly timeoutMs: number;
  /** Bytes of a receiver's answer read and kept in the log. Default 4 KiB. */
  readonly maxResponseBytes: number;
  /** How long the delivery log keeps ended deliveries. Default 30 days. */
  readonly retentionMs: number;
  /** CIDRs allowed beyond loopback and private LAN ranges. Default none. */
  readonly allowCidrs: readonly string[];
  /** How long a rotated-out secret keeps signing, unless the rotation says. Default 24 h. */
  readonly rotationOverlapMs: number;
  /** Re-queue deliveries whose try is overdue (lost enqueue) this often. Default 30 s. */
  readonly sweepEveryMs: number;
  readonly random: () => number;
}

export const defaultWebhookOptions: WebhookOptions = {
  retryWindowMs: 24 * 3_600_000,
  baseDelayMs: 5_000,
  maxDelayMs: 3_600_000,
  timeoutMs: 10_000,
  maxResponseBytes: 4096,
  retentionMs: 30 * 24 * 3_600_000,
  allowCidrs: [],
  rotationOverlapMs: 24 * 3_600_000,
  sweepEveryMs: 30_000,
  random: Math.random,
};

/** "Full jitter": a uniformly random wait between 0 and the capped exponential delay. */
export function fullJitterDelay(options: Pick<WebhookOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>, attemptsMade: number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(options.random() * ceiling);
}
