import { PhError } from '../../contract/errors';
import type { HandlersFor } from '../core';
import { instanceFor } from './check-output';
import type { GatewayStats } from './gateway-stats';
import type { LanDiscovery } from './lan-discovery';
import type { LoadBalancer } from './load-balancer';
import type { ServiceRegistry } from './registry';
import type { TargetPolicy } from './target-policy';
import type { InstanceTraffic, RegisterInput } from './types';

export type DiscoveryOperationName =
  | 'services.register'
  | 'services.deregister'
  | 'services.heartbeat'
  | 'services.list'
  | 'services.summary'
  | 'services.get'
  | 'services.watch'
  | 'services.maintenance'
  | 'services.pick'
  | 'services.configure'
  | 'services.traffic'
  | 'services.discovered'
  | 'services.adopt';

export interface DiscoveryHandlerDeps {
  readonly registry: ServiceRegistry;
  readonly balancer: LoadBalancer;
  readonly stats: GatewayStats;
  readonly lan: LanDiscovery;
  readonly targets: TargetPolicy;
}

export function discoveryHandlers({ registry, balancer, stats, lan, targets }: DiscoveryHandlerDeps): HandlersFor<DiscoveryOperationName> {
  return {
    'services.register': (input) => {
      refuseLiteralTargets(targets, input);
      return { instance: registry.register(input) };
    },
    'services.deregister': (input) => registry.deregister(input.id, 'deregistered by request'),
    'services.heartbeat': (input) => {
      const instance = registry.heartbeat(input.id, input.status, input.output);
      // A heartbeat to an instance without a TTL check is answered, not refused (the client library
      // beats whatever checks an instance has), and says it fed nothing.
      return { instance, ttlChecksFed: instance.checks.filter((c) => c.kind === 'ttl').length };
    },
    'services.list': ({ order, ...filter }, caller) => ({
      index: registry.index,
      instances: registry.list(filter, order).map((i) => instanceFor(caller.role, i)),
    }),
    'services.summary': (input) => ({ index: registry.index, services: registry.summary(input) }),
    'services.get': (input, caller) => ({ instance: instanceFor(caller.role, registry.get(input.id)) }),
    'services.watch': async ({ index, waitMs, ...filter }, caller) => {
      const result = await registry.watch(filter, index, waitMs ?? 30_000);
      return { ...result, instances: result.instances.map((i) => instanceFor(caller.role, i)) };
    },
    'services.maintenance': (input) => ({ instance: registry.setMaintenance(input.id, input.enabled, input.reason) }),
    'services.pick': (input, caller) => {
      const target = balancer.pick(input.name, input.key === undefined ? {} : { key: input.key });
      return { instance: instanceFor(caller.role, registry.get(target.id, 0)) };
    },
    'services.configure': (input) => {
      const patch: Parameters<ServiceRegistry['configure']>[1] = {};
      if (input.strategy !== undefined) patch.strategy = input.strategy;
      if (input.hashHeader !== undefined) patch.hashHeader = input.hashHeader;
      if (input.outlier !== undefined) patch.outlier = input.outlier;
      return { name: input.name, policy: registry.configure(input.name, patch) };
    },
    'services.traffic': (input) => {
      const instances: InstanceTraffic[] = registry.list(input.name === undefined ? {} : { name: input.name }).map((instance) => {
        const s = stats.get(instance.id);
        const ejection = balancer.ejection(instance.name, instance.id);
        return {
          id: instance.id,
          name: instance.name,
          requests: s?.requests ?? 0,
          errors: s?.errors ?? 0,
          inFlight: balancer.inFlight(instance.id),
          p50Ms: s?.p50Ms ?? 0,
          p99Ms: s?.p99Ms ?? 0,
          lastError: s?.lastError ?? null,
          ejected: ejection.ejected,
          ejectedUntil: ejection.ejectedUntil === 0 ? null : new Date(ejection.ejectedUntil).toISOString(),
          ejections: ejection.ejections,
        };
      });
      return { instances };
    },
    'services.discovered': () => ({ enabled: lan.enabled, services: lan.list() }),
    'services.adopt': (input) => {
      const found = lan.find(input.fqdn);
      if (found === undefined)
        throw new PhError('PH_DISCOVERY_NOT_DISCOVERED', `No LAN service ${JSON.stringify(input.fqdn)} has been discovered`, {
          field: 'fqdn',
        });
      const address = input.address ?? found.addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? found.addresses[0] ?? found.host;
      const name = input.name ?? (found.type.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'lan-service');
      const id = `lan-${found.fqdn}`.replace(/[^A-Za-z0-9._:@-]/g, '-').slice(0, 128);
      const check = input.check ?? { kind: 'tcp', intervalMs: 10_000 };
      refuseLiteralTargets(targets, { address, port: found.port, checks: [check] });
      const instance = registry.register({
        name,
        id,
        address,
        port: found.port,
        tags: ['lan', `mdns:${found.type}`],
        meta: Object.fromEntries(
          Object.entries(found.txt)
            .slice(0, 32)
            .map(([k, v]) => [k.slice(0, 64), v.slice(0, 512)]),
        ),
        ...(found.txt.version !== undefined && /^\d+\.\d+\.\d+/.test(found.txt.version) ? { version: found.txt.version } : {}),
        checks: [check],
      });
      lan.markAdopted(found.fqdn, instance.id);
      return { instance };
    },
  };
}

/**
 * Addresses written as literals are checked against the allow-list at registration, so a refused
 * target is a coded error at once; names are checked (resolved) each time a check or the gateway connects.
 */
function refuseLiteralTargets(targets: TargetPolicy, input: Pick<RegisterInput, 'address' | 'port' | 'checks'>): void {
  targets.checkLiteral(input.address, input.port);
  for (const check of input.checks ?? []) {
    if (check.kind === 'tcp') targets.checkLiteral(check.host ?? input.address, check.port ?? input.port);
    if (check.kind === 'http' && check.url !== undefined && URL.canParse(check.url)) {
      const url = new URL(check.url);
      targets.checkLiteral(url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
    } else if (check.kind === 'http') targets.checkLiteral(check.host ?? input.address, check.port ?? input.port);
  }
}
