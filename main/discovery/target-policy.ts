import { PhError } from '../../contract/errors';
import { defaultAllowedTargets, OutboundReach, type HostLookup, type ResolvedTarget } from '../security';

export { defaultAllowedTargets, type HostLookup, type ResolvedTarget };

export interface TargetPolicyOptions {
  /** `discovery.allowedTargets`: CIDRs, single addresses and host names. */
  readonly allowed: readonly string[];
  readonly ownHttpPort: () => number | null;
  readonly redis: { host: string; port: number } | null;
  readonly sentinels?: readonly { host: string; port: number }[];
  readonly redisConnected?: () => { host: string; port: number } | null;
  readonly lookup?: HostLookup;
}

/** What health checks and the gateway may connect to: the shared outbound-reach policy (main/security) on `discovery.allowedTargets`. */
export class TargetPolicy extends OutboundReach {
  constructor(options: TargetPolicyOptions) {
    super({ ...options, setting: 'discovery.allowedTargets', refused });
  }
}

function refused(host: string, port: number, why: string): PhError {
  return new PhError('PH_DISCOVERY_TARGET_FORBIDDEN', `Pilothouse may not connect to ${host}:${port}: ${why}`, {
    details: { host, port },
  });
}
