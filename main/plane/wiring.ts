import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { RetentionSettings } from '../maintenance-plan';
import type { Service } from '../service';
import type { Database, StoreService } from '../store';
import type { ControlPlaneOptions } from './options';

/**
 * What every wiring step of `start()` reads: the settings, the node and its open store, and the one
 * way to start a service (after those before it, so the plane stops it before them).
 */
export interface Wiring {
  readonly config: Config;
  readonly options: ControlPlaneOptions;
  /** The retention settings as each capability takes them. */
  readonly kept: RetentionSettings;
  readonly clock: Clock;
  /** Spans of time (rate-limit windows): `monotonicClock`, or the test's clock when it gives one. */
  readonly durations: Clock;
  readonly logger: Logger;
  readonly store: StoreService;
  readonly db: Database;
  readonly nodeId: string;
  readonly start: (service: Service) => Promise<void>;
}
