/** Offsets `from`..`to` of a room's `epoch` that a slow connection was not sent. */
export interface DroppedRange {
  readonly room: string;
  readonly epoch: string;
  readonly from: number;
  readonly to: number;
}

/**
 * The one `dropped` gap per room a slow connection is owed: every room message the connection
 * shed or dropped since it was last told, as one range that only widens. A new epoch replaces the
 * range (the old epoch's loss is then told by the `epoch-changed` gap the new epoch brings).
 */
export class PendingGaps {
  readonly #gaps = new Map<string, DroppedRange>();

  record(room: string, epoch: string, from: number, to: number): void {
    const gap = this.#gaps.get(room);
    if (gap === undefined || gap.epoch !== epoch) this.#gaps.set(room, { room, epoch, from, to });
    else this.#gaps.set(room, { room, epoch, from: Math.min(gap.from, from), to: Math.max(gap.to, to) });
  }

  rooms(): string[] {
    return [...this.#gaps.keys()];
  }

  /** The room's gap as a frame and forgotten here (the caller sends or queues it), or null when it has none. */
  take(room: string): { frame: Buffer; range: DroppedRange } | null {
    const range = this.#gaps.get(room);
    if (range === undefined) return null;
    this.#gaps.delete(room);
    return { frame: gapFrame(range), range };
  }

  /** The bytes the room's gap frame would take now (0 without one). */
  bytes(room: string): number {
    const range = this.#gaps.get(room);
    return range === undefined ? 0 : gapFrame(range).length;
  }

  clear(): void {
    this.#gaps.clear();
  }
}

export function gapFrame(gap: DroppedRange): Buffer {
  const { room, epoch, from, to } = gap;
  return Buffer.from(JSON.stringify({ type: 'gap', room, epoch, from, to, reason: 'dropped', position: { epoch, offset: to } }));
}
