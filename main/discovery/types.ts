import type { Static } from '@sinclair/typebox';
import type {
  CheckDefinitionSchema,
  CheckStateSchema,
  CheckStatusSchema,
  DiscoveredServiceSchema,
  HealthStateSchema,
  InstanceFilterSchema,
  InstanceSchema,
  InstanceTrafficSchema,
  RegisterInputSchema,
  ServicePolicySchema,
  ServiceSummarySchema,
  StrategySchema,
} from '../../contract/ops/discovery';

export type HealthState = Static<typeof HealthStateSchema>;
export type CheckStatus = Static<typeof CheckStatusSchema>;
export type Strategy = Static<typeof StrategySchema>;
export type CheckDefinition = Static<typeof CheckDefinitionSchema>;
export type CheckState = Static<typeof CheckStateSchema>;
export type Instance = Static<typeof InstanceSchema>;
export type InstanceFilter = Static<typeof InstanceFilterSchema>;
export type RegisterInput = Static<typeof RegisterInputSchema>;
export type ServicePolicy = Static<typeof ServicePolicySchema>;
export type ServiceSummary = Static<typeof ServiceSummarySchema>;
export type InstanceTraffic = Static<typeof InstanceTrafficSchema>;
export type DiscoveredService = Static<typeof DiscoveredServiceSchema>;
export type OutlierPolicy = ServicePolicy['outlier'];

/** A check definition with every default filled in, as the checker runs it. */
export interface ResolvedCheck {
  readonly id: string;
  readonly kind: 'http' | 'tcp' | 'ttl';
  readonly url: string | null;
  readonly method: 'GET' | 'HEAD';
  readonly expectStatus: number | null;
  readonly maxBodyBytes: number;
  readonly host: string;
  readonly port: number;
  readonly ttlMs: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly jitter: number;
  readonly successBeforePassing: number;
  readonly failuresBeforeCritical: number;
  readonly deregisterAfterMs: number | null;
  readonly initialStatus: CheckStatus;
}

export interface CheckResult {
  readonly status: CheckStatus;
  readonly output: string;
}
