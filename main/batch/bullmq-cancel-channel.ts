import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';
import { Subscriber } from '../redis';

const CANCEL_CHANNEL = 'ph:jobs:cancel';
const CANCEL = 'jobs.cancel';

/**
 * The fleet's cancel broadcast: a run is cancelled on whichever node runs it, so a cancel is
 * published (sealed, so only the fleet can cancel) on one Redis channel every node listens to.
 */
export class CancelChannel {
  #subscriber: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly seal: FleetSeal,
    /** Called with the job id of every cancel heard, this node's own included. */
    private readonly onCancel: (id: string) => void,
  ) {}

  async start(): Promise<void> {
    const subscriber = new Subscriber(this.redis, { maxRetriesPerRequest: null }, () => undefined);
    this.#subscriber = subscriber.client;
    this.#subscriber.on('message', (_channel: string, message: string) => {
      const opened = this.seal.open(CANCEL, CANCEL_CHANNEL, message);
      if (opened !== null) this.onCancel(opened.body);
    });
    // Redis down or hung: the node starts without the channel, and the subscriber joins it once connected.
    await subscriber.subscribeAtStart(CANCEL_CHANNEL).catch(() => undefined);
  }

  async publish(id: string): Promise<void> {
    await this.redis.publish(CANCEL_CHANNEL, this.seal.seal(CANCEL, CANCEL_CHANNEL, id));
  }

  stop(): void {
    this.#subscriber?.disconnect();
  }
}
