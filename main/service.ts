import type { Static } from '@sinclair/typebox';
import type { ServiceStateSchema } from '../contract/ops/system';

export type ServiceState = Static<typeof ServiceStateSchema>;

/**
 * What the composition root starts and stops. `start()` opens resources; `stop()` drains and closes
 * them. Nothing happens at construction or import time.
 */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): { state: ServiceState; detail?: string };
}
