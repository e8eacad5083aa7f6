import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { ServicePolicySchema } from '../contract/ops/discovery';
import { AlertRuleSchema } from '../contract/ops/monitoring';
import type { Clock } from './clock';
import type { Discovery } from './discovery';
import { ReplicatedTable, type FleetSeal } from './fleet';
import type { Logger } from './logger';
import type { Monitoring } from './monitoring';

export interface FleetTableDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly redis: Redis | null;
  readonly seal: FleetSeal | null;
  readonly logger: Logger;
  /** How often each table checks that Redis still holds the fleet's copy (tests shorten it). */
  readonly checkIntervalMs?: number;
}

/**
 * The state every node holds in full and keeps the same through Redis (docs/fleet.md): alert rules
 * and the balancer's per-service policies. Started after the capabilities they read (the registry
 * loads its policies when discovery starts).
 */
export function fleetTables(deps: FleetTableDeps, monitoring: Monitoring, discovery: Discovery) {
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-tables' }) };
  return {
    alertRules: new ReplicatedTable({ ...common, name: 'alert-rules', schema: AlertRuleSchema, source: monitoring.alerts.replicaSource() }),
    servicePolicies: new ReplicatedTable({
      ...common,
      name: 'service-policies',
      schema: ServicePolicySchema,
      source: discovery.registry.policyReplicaSource(),
    }),
  };
}
