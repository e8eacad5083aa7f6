/** What the shells and tests pass the control plane beside the config: the mode and the timings tests shorten. */
import type { BackupServiceOptions } from '../backup';
import type { BullmqJobQueueOptions } from '../batch';
import type { Clock } from '../clock';
import type { DiscoveryDeps } from '../discovery';
import type { ClockSkewOptions, RedisEpochOptions, SecretClaimOptions } from '../fleet';
import type { Logger } from '../logger';
import type { MonitoringOptions } from '../monitoring';
import type { HubOptions } from '../realtime';
import type { AuthThrottleOptions, OAuthOptions } from '../security';
import type { WebhookOptions } from '../webhooks';

export interface ControlPlaneOptions {
  readonly mode: 'desktop' | 'headless';
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Sampling and health intervals, window and retention of monitoring (tests shorten them). */
  readonly monitoring?: Partial<MonitoringOptions>;
  /** Real-time hub settings (ping interval, caps, room rules); defaults suit a LAN. */
  readonly realtime?: Partial<HubOptions> & { node?: string };
  readonly discovery?: Pick<DiscoveryDeps, 'lan' | 'checker' | 'gateway' | 'redisSync'>;
  /**
   * Fleet settings tests shorten: how often fleet-wide tables check that Redis still holds the fleet's
   * copy (default 5 s), how often the Redis epoch is checked, the job queue's intervals, the secret's
   * claim and the clock check.
   */
  readonly fleet?: {
    readonly checkIntervalMs?: number;
    readonly epoch?: Pick<RedisEpochOptions, 'checkMs'>;
    readonly jobs?: BullmqJobQueueOptions;
    /** The fleet secret's claim in Redis: its expiry and renewal. */
    readonly secretClaim?: SecretClaimOptions;
    /** How often this node's clock is compared with Redis's. */
    readonly clockSkew?: Pick<ClockSkewOptions, 'checkMs'>;
  };
  /** Failed-authentication limits (tests shorten them); defaults: 10 a minute, then 1, 2, 4... minutes. */
  readonly authThrottle?: Partial<AuthThrottleOptions>;
  /** OAuth token lifetimes and signing-key rotation (tests shorten them); defaults in main/security/oauth-server.ts. */
  readonly oauth?: Partial<OAuthOptions>;
  /** How often the audit chain head is written out of the database (default 5 s). */
  readonly auditHeadIntervalMs?: number;
  /** Backup repository tuning (tests make packs small, so a transfer has many files to stop between). */
  readonly backup?: Pick<BackupServiceOptions, 'packTargetBytes'>;
  /** Webhook delivery settings (retry window, back-off, timeout, allowed ranges); tests shorten them. */
  readonly webhooks?: Partial<WebhookOptions>;
  /**
   * Whether the HTTP server counts requests against the callers' rate-limit tiers (default on). Off
   * only for the baseline of the rate-limit benchmark (bench/webhooks): a node in use always counts.
   */
  readonly httpRateLimit?: boolean;
}
