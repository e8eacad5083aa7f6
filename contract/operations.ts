import type { InputOf, OutputOf } from './operation';
import { jobsOperations } from './ops/jobs';
import { cacheOperations } from './ops/cache';
import { realtimeOperations } from './ops/realtime';
import { securityOperations } from './ops/security';
import { systemOperations } from './ops/system';
import { backupOperations } from './ops/backup';
import { monitoringOperations } from './ops/monitoring';
import { discoveryOperations } from './ops/discovery';
import { webhooksOperations } from './ops/webhooks';
import { ratelimitOperations } from './ops/ratelimit';
import { graphqlOperations } from './ops/graphql';
import { sagasOperations } from './ops/sagas';

/** Every console operation. A capability adds its own file under ops/ and one spread here. */
export const operations = {
  ...systemOperations,
  ...securityOperations,
  ...backupOperations,
  ...monitoringOperations,
  ...discoveryOperations,
  ...jobsOperations,
  ...cacheOperations,
  ...realtimeOperations,
  ...webhooksOperations,
  ...ratelimitOperations,
  ...graphqlOperations,
  ...sagasOperations,
} as const;

export type Operations = typeof operations;
export type OperationName = keyof Operations;
export type OperationInput<N extends OperationName> = InputOf<Operations[N]>;
export type OperationResult<N extends OperationName> = OutputOf<Operations[N]>;

export const operationNames = Object.keys(operations) as OperationName[];

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operations, name);
}
