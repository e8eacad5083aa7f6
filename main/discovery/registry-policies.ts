import { defaultPolicy } from './defaults';
import type { RegistryStore } from './registry-store';
import type { OutlierPolicy, ServicePolicy, Strategy } from './types';

export type PolicyPatch = { strategy?: Strategy; hashHeader?: string | null; outlier?: Partial<OutlierPolicy> };

/** Each service's balancing policy (strategy, hash header, outlier ejection); a service never configured gets the default. */
export class ServicePolicies {
  #policies = new Map<string, ServicePolicy>();

  replaceAll(policies: Map<string, ServicePolicy>): void {
    this.#policies = policies;
  }

  get(name: string): ServicePolicy {
    return this.#policies.get(name) ?? defaultPolicy;
  }

  /** Merges the patch into the current policy; a hash header is kept lower-case, as requests carry it. */
  configure(store: RegistryStore, name: string, patch: PolicyPatch, now: number): ServicePolicy {
    const current = this.get(name);
    const next: ServicePolicy = {
      strategy: patch.strategy ?? current.strategy,
      hashHeader: patch.hashHeader === undefined ? current.hashHeader : patch.hashHeader === null ? null : patch.hashHeader.toLowerCase(),
      outlier: { ...current.outlier, ...patch.outlier },
    };
    store.savePolicy(name, next, now);
    this.#policies.set(name, next);
    return next;
  }
}
