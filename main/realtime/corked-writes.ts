/** The part of a socket the batcher uses: Node's `net.Socket` (any `Writable`) has both. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Holds each socket's writes made in one turn of the event loop and hands them to the kernel
 * together, at `setImmediate`: a burst of publications then costs one `writev` per socket rather
 * than one `write` per frame, which is most of a fan-out's CPU (the syscall, not the framing).
 * `ws` has no batching of its own; it corks only around the two halves of one frame, and Node's
 * cork is counted, so an outer cork here holds across many frames. Uncorked within the same turn,
 * so a lone frame waits microseconds, not a timer.
 */
export class CorkedWrites {
  readonly #held = new Set<Corkable>();
  #scheduled = false;

  hold(socket: Corkable): void {
    if (this.#held.has(socket)) return;
    socket.cork();
    this.#held.add(socket);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#release);
    }
  }

  /** Sends everything held now (before a close, say). */
  flush(socket: Corkable): void {
    if (this.#held.delete(socket)) socket.uncork();
  }

  readonly #release = (): void => {
    this.#scheduled = false;
    const held = [...this.#held];
    this.#held.clear();
    for (const socket of held) socket.uncork();
  };
}
