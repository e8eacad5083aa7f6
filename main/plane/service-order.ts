/**
 * The start and stop order: services start one after another as the plane is wired, and stop in
 * reverse within the shutdown deadline.
 */
import type { Clock } from '../clock';
import { HttpServer } from '../http';
import type { Logger } from '../logger';
import type { Service } from '../service';

export class ServiceOrder {
  /** Every service this plane built, in start order, for status; `#started` holds those that started. */
  readonly #services: Service[] = [];
  #started: Service[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get services(): readonly Service[] {
    return this.#services;
  }

  async start(service: Service): Promise<void> {
    if (!this.#services.includes(service)) this.#services.push(service);
    await service.start();
    this.#started.push(service);
  }

  /** Stops the started services in reverse order; one that overruns `deadline` is left behind, not waited on. */
  async stopAll(deadline: number): Promise<void> {
    const order = [...this.#started].reverse();
    for (const [index, service] of order.entries()) {
      // Each service gets its share of what is left, so one slow stop cannot leave the rest 0 ms; the
      // HTTP server, first to stop and draining requests that wait on the others, may take half.
      const remaining = Math.max(0, deadline - this.clock.now());
      const left = service instanceof HttpServer ? remaining / 2 : remaining / (order.length - index);
      let timer: NodeJS.Timeout | undefined;
      const overran = await Promise.race([
        service.stop().then(
          () => false,
          (err: unknown) => {
            this.logger.error({ err, service: service.name }, 'service failed to stop cleanly');
            return false;
          },
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), left);
        }),
      ]);
      clearTimeout(timer);
      if (overran) {
        this.logger.warn({ service: service.name }, 'service did not stop within the deadline');
        if (service instanceof HttpServer) service.forceClose();
      }
    }
    this.#started = [];
  }
}
