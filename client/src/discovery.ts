import type { OperationInput, OperationOutput } from './generated/contract';
import type { Transport } from './http';

export type Instance = OperationOutput<'services.register'>['instance'];

export interface RegisterOptions {
  /** How often to heartbeat (default 10 s). Without checks of its own, the instance gets a TTL check of three beats. */
  readonly heartbeatMs?: number;
}

/** A registered instance: heartbeating until `deregister()` (or the process exits). */
export class Registration {
  #timer: ReturnType<typeof setInterval> | null;
  #gone: Promise<void> | null = null;
  /** The last heartbeat's failure, if it failed (the next beat tries again). */
  lastError: unknown = null;

  constructor(
    public instance: Instance,
    private readonly transport: Transport,
    heartbeatMs: number,
    private readonly forget: (r: Registration) => void,
  ) {
    this.#timer = setInterval(() => void this.heartbeat(), heartbeatMs);
    // In Node a heartbeat alone must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async heartbeat(): Promise<void> {
    try {
      this.instance = (await this.transport.call('services.heartbeat', { id: this.instance.id })).instance;
      this.lastError = null;
    } catch (err) {
      this.lastError = err;
    }
  }

  /** Stops the heartbeats and removes the instance from the registry (once, however often called). */
  deregister(): Promise<void> {
    this.#gone ??= (async () => {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
      this.forget(this);
      await this.transport.call('services.deregister', { id: this.instance.id });
    })();
    return this.#gone;
  }
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Service registration for a LAN program: `register` adds the instance and heartbeats it; every
 * instance still registered is removed when the program exits (Node: SIGINT, SIGTERM and the end
 * of the event loop; browsers: `pagehide`), or on `Pilothouse.close()`.
 */
export class Discovery {
  readonly #live = new Set<Registration>();
  #hooked = false;

  constructor(private readonly transport: Transport) {}

  async register(input: OperationInput<'services.register'>, options: RegisterOptions = {}): Promise<Registration> {
    const heartbeatMs = options.heartbeatMs ?? 10_000;
    const checks = input.checks ?? [{ kind: 'ttl' as const, ttlMs: heartbeatMs * 3, initialStatus: 'passing' as const }];
    const { instance } = await this.transport.call('services.register', { ...input, checks });
    const registration = new Registration(instance, this.transport, heartbeatMs, (r) => this.#live.delete(r));
    this.#live.add(registration);
    this.#hookExit();
    return registration;
  }

  /** Deregisters every instance this client registered. */
  async deregisterAll(): Promise<void> {
    await Promise.allSettled([...this.#live].map((r) => r.deregister()));
  }

  #hookExit(): void {
    if (this.#hooked) return;
    this.#hooked = true;
    const proc = (globalThis as { process?: NodeLikeProcess }).process;
    if (proc?.once !== undefined) {
      proc.once('beforeExit', () => void this.deregisterAll());
      for (const signal of EXIT_SIGNALS) {
        const onSignal = (): void => {
          // Deregister, then die of the same signal as if we had not listened (the default exit).
          void this.deregisterAll().finally(() => {
            for (const s of EXIT_SIGNALS) {
              const handler = handlers[s];
              if (handler !== undefined) proc.removeListener?.(s, handler);
            }
            proc.kill?.(proc.pid ?? 0, signal);
          });
        };
        handlers[signal] = onSignal;
        proc.once(signal, onSignal);
      }
      return;
    }
    (globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.(
      'pagehide',
      () => void this.deregisterAll(),
    );
  }
}

interface NodeLikeProcess {
  once?: (event: string, listener: () => void) => void;
  removeListener?: (event: string, listener: () => void) => void;
  kill?: (pid: number, signal: string) => void;
  pid?: number;
}
const handlers: Record<string, () => void> = {};
