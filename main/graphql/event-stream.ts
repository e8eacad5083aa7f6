/** Events a slow subscriber may have waiting; past this the oldest are dropped (the next carries the latest state). */
const MAX_QUEUED = 1000;

/**
 * An event listener as the async iterator a GraphQL subscription returns: events queue until the
 * client's socket takes them, and `return()` (the client stopped, or the socket closed) unsubscribes.
 */
export function eventIterator<T>(subscribe: (push: (value: T) => void) => () => void): AsyncIterableIterator<T> {
  const queued: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | null = null;
  let done = false;
  const unsubscribe = subscribe((value) => {
    if (done) return;
    if (waiting !== null) {
      const resolve = waiting;
      waiting = null;
      resolve({ value, done: false });
      return;
    }
    if (queued.length >= MAX_QUEUED) queued.shift();
    queued.push(value);
  });
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      unsubscribe();
      waiting?.({ value: undefined, done: true });
      waiting = null;
      queued.length = 0;
    }
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    next: () => {
      if (queued.length > 0) return Promise.resolve({ value: queued.shift() as T, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return: finish,
    throw: async (err: unknown) => {
      await finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
