/** What BullMQ's queues, workers and flow producers share: a Redis connection set up in the background, and close. */
interface BullmqClosable {
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

/** How long a stop waits for an object opened just before it to finish setting up its connection. */
const SETTLE_MS = 1_000;

/**
 * Closes BullMQ objects without leaving a rejection no one handles. Each one, as it is built, asks
 * Redis its version (INFO) in the background and reports a failure of that as an `error` event;
 * `close()` removes its listeners, so an INFO still in flight that the closing connection then fails
 * ("Connection is closed.") has no listener left and becomes an unhandled rejection. So an object is
 * closed once its set-up has settled. One still setting up after `SETTLE_MS` (Redis down) is, with
 * `unsettled: 'leave'` (it runs on the node's shared connection, which the caller closes next), left
 * with its listeners, so its failure is reported and logged like any other error of it; with
 * `'close'` (it holds a connection of its own, as a worker does) closed anyway.
 */
export async function closeSettled(objects: Iterable<BullmqClosable>, unsettled: 'leave' | 'close', settleMs = SETTLE_MS): Promise<void> {
  await Promise.allSettled(
    [...objects].map(async (o) => {
      if ((await settlesWithin(o.waitUntilReady(), settleMs)) || unsettled === 'close') await o.close();
    }),
  );
}

/** True when `work` resolves or rejects within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
