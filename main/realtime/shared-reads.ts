/**
 * Identical reads asked for while one is on its way to Redis share the next round trip. When a node
 * dies, its clients reconnect to the survivors within a few hundred milliseconds and resubscribe to
 * the same rooms from the same positions; each subscribe reads the room's head and history, so
 * without this the survivor sends the same script hundreds of times in a burst and the clients
 * queue behind it. Every caller's answer comes from a read that started after it asked (a caller
 * that arrives while a read runs waits for the next one), so sharing never hands out a head older
 * than the caller's own subscription. Nothing is kept once a read has answered.
 */
export class SharedReads {
  readonly #slots = new Map<string, { running: Promise<unknown>; next: Promise<unknown> | null }>();

  run<T>(key: string, read: () => Promise<T>): Promise<T> {
    const slot = this.#slots.get(key);
    if (slot === undefined) return this.#start(key, read);
    slot.next ??= slot.running.then(
      () => this.#start(key, read),
      () => this.#start(key, read),
    );
    return slot.next as Promise<T>;
  }

  #start<T>(key: string, read: () => Promise<T>): Promise<T> {
    const running = read();
    const slot = { running: running as Promise<unknown>, next: null };
    this.#slots.set(key, slot);
    const clear = (): void => {
      if (this.#slots.get(key) === slot) this.#slots.delete(key);
    };
    running.then(clear, clear);
    return running;
  }
}
