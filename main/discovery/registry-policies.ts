import { defaultPolicy } from './defaults';
import type { RegistryStore } from './registry-store';
import type { OutlierPolicy, ServicePolicy, Strategy } from './types';

export type PolicyPatch = { strategy?: Strategy; hashHeader?: string | null; outlier?: Partial<OutlierPolicy> };

/** Each service's balancing policy (strategy, hash header, outlier ejection); a service never configured gets the default. */
export class ServicePolicies {
  #policies = new Map<string, ServicePolicy>();
  readonly #edits = new Set<(name: string, policy: ServicePolicy | null) => void>();

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
    this.#write(store, name, next, now);
    for (const listener of this.#edits) listener(name, next);
    return next;
  }

  /**
   * The policies as a fleet-wide table sees them (`ReplicaSource` in main/fleet): every edit made
   * here is reported, and one that won on another node is written without being reported back.
   */
  replicaSource(store: RegistryStore, now: () => number) {
    return {
      rows: (): Iterable<readonly [string, ServicePolicy]> => [...this.#policies],
      apply: (name: string, policy: ServicePolicy | null): void => this.#write(store, name, policy, now()),
      onLocalChange: (listener: (name: string, policy: ServicePolicy | null) => void): (() => void) => {
        this.#edits.add(listener);
        return () => this.#edits.delete(listener);
      },
    };
  }

  #write(store: RegistryStore, name: string, policy: ServicePolicy | null, now: number): void {
    if (policy === null) {
      store.deletePolicy(name);
      this.#policies.delete(name);
      return;
    }
    store.savePolicy(name, policy, now);
    this.#policies.set(name, policy);
  }
}
