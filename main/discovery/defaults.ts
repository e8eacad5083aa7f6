import type { OutlierPolicy, ServicePolicy } from './types';

/** Every default of the discovery capability in one place; docs/discovery.md lists the same. */
export const checkDefaults = {
  intervalMs: 10_000,
  timeoutMs: 2_000,
  jitter: 0.1,
  maxBodyBytes: 4_096,
  /** One good result is enough to pass, but one bad result never makes a passing instance critical. */
  successBeforePassing: 1,
  failuresBeforeCritical: 2,
  /** A new check is critical until it has passed, so no traffic goes to an instance nobody has seen answer. */
  initialStatus: 'critical',
  ttlMs: 30_000,
  httpPath: '/health',
} as const;

/** Output kept per check result, and status changes kept per check. */
export const OUTPUT_LIMIT_CHARS = 4_096;
export const HISTORY_PER_CHECK = 20;
/** The registry refuses more instances than this: every one of them has timers and memory. */
export const MAX_INSTANCES = 10_000;
/** Change rows kept for the watch index and the console's recent changes. */
export const CHANGES_KEPT = 5_000;

export const outlierDefaults: OutlierPolicy = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionShare: 0.5,
};

export const defaultPolicy: ServicePolicy = { strategy: 'round-robin', hashHeader: null, outlier: outlierDefaults };

export interface LanDiscoveryOptions {
  /** DNS-SD types to browse, without the leading underscore or protocol: `http` means `_http._tcp`. */
  readonly browseTypes: readonly string[];
  /** How often the browser asks again, so services announced before Pilothouse listened are found. */
  readonly requeryMs: number;
  /** multicast-dns options (port, interface); tests pass a private port on loopback. */
  readonly mdns?: { port?: number; interface?: string; bind?: string; ip?: string };
  /** The name Pilothouse announces itself with. */
  readonly instanceName?: string;
}

export const lanDefaults: LanDiscoveryOptions = { browseTypes: ['http', 'pilothouse'], requeryMs: 30_000 };
