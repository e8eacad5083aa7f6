import { describe, expect, it } from 'vitest';
import { HybridClock } from '../../main/fleet';

describe('hybrid-clock versions (last writer wins)', () => {
  it('orders versions by time, then counter, then node, as plain strings', () => {
    const clock = { now: () => 1_000 };
    const a = new HybridClock(clock, 'node-a');
    const first = a.next();
    const second = a.next();
    expect(second > first).toBe(true);
    expect(new HybridClock(clock, 'node-b').next() > new HybridClock(clock, 'node-a').next()).toBe(true);
  });

  it('issues an edit made after seeing a version from a node whose clock runs ahead above that version', () => {
    const ahead = new HybridClock({ now: () => 50_000 }, 'node-ahead').next();
    const behind = new HybridClock({ now: () => 1_000 }, 'node-behind');
    expect(behind.next() < ahead).toBe(true);
    behind.observe(ahead);
    expect(behind.next() > ahead).toBe(true);
  });

  it('puts rows that predate replication below any real edit', () => {
    expect(HybridClock.zero('node-z') < new HybridClock({ now: () => 1 }, 'node-a').next()).toBe(true);
  });
});
