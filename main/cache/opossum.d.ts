// opossum 9 ships no type declarations; this covers the part of its API the cache uses.
declare module 'opossum' {
  import { EventEmitter } from 'node:events';

  interface CircuitBreakerOptions {
    timeout?: number | false;
    errorThresholdPercentage?: number;
    resetTimeout?: number;
    rollingCountTimeout?: number;
    rollingCountBuckets?: number;
    volumeThreshold?: number;
    rollingPercentilesEnabled?: boolean;
    enableSnapshots?: boolean;
    allowWarmUp?: boolean;
    name?: string;
    errorFilter?: (err: unknown) => boolean;
  }

  class CircuitBreaker<TArgs extends unknown[] = unknown[], TResult = unknown> extends EventEmitter {
    constructor(action: (...args: TArgs) => Promise<TResult>, options?: CircuitBreakerOptions);
    fire(...args: TArgs): Promise<TResult>;
    readonly opened: boolean;
    readonly halfOpen: boolean;
    readonly closed: boolean;
    open(): void;
    close(): void;
    shutdown(): void;
    readonly stats: { fires: number; failures: number; rejects: number; timeouts: number; successes: number };
  }

  export default CircuitBreaker;
}
