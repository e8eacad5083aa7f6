import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../main/realtime/shared-reads';

/** A read whose answer the test gives, counting how many were started. */
function reads(): { read: () => Promise<number>; started: number; answer: (value: number) => void; fail: () => void } {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  const state = {
    started: 0,
    read: () =>
      new Promise<number>((resolve, reject) => {
        state.started += 1;
        pending.push({ resolve, reject });
      }),
    answer: (value: number) => pending.shift()?.resolve(value),
    fail: () => pending.shift()?.reject(new Error('redis went away')),
  };
  return state;
}

const settle = () => new Promise((r) => setImmediate(r));

describe('identical reads in flight share one round trip', () => {
  it('answers everyone who asked during a read with one next read that started after they asked', async () => {
    const shared = new SharedReads();
    const r = reads();
    const first = shared.run('origin\nroom', r.read);
    const second = shared.run('origin\nroom', r.read);
    const third = shared.run('origin\nroom', r.read);
    expect(r.started).toBe(1);
    r.answer(10);
    expect(await first).toBe(10);
    await settle();
    expect(r.started).toBe(2);
    r.answer(11);
    expect(await second).toBe(11);
    expect(await third).toBe(11);
    expect(r.started).toBe(2);
  });

  it('keeps nothing once a read has answered', async () => {
    const shared = new SharedReads();
    const r = reads();
    const first = shared.run('k', r.read);
    r.answer(1);
    await first;
    const later = shared.run('k', r.read);
    expect(r.started).toBe(2);
    r.answer(2);
    expect(await later).toBe(2);
  });

  it('does not share across keys', async () => {
    const shared = new SharedReads();
    const r = reads();
    const a = shared.run('read\nroom-a', r.read);
    const b = shared.run('read\nroom-b', r.read);
    expect(r.started).toBe(2);
    r.answer(1);
    r.answer(2);
    expect([await a, await b]).toEqual([1, 2]);
  });

  it('gives a failed read to its own caller only; those waiting get a fresh read', async () => {
    const shared = new SharedReads();
    const r = reads();
    const first = shared.run('k', r.read);
    const waiting = shared.run('k', r.read);
    r.fail();
    await expect(first).rejects.toThrow('redis went away');
    await settle();
    expect(r.started).toBe(2);
    r.answer(7);
    expect(await waiting).toBe(7);
  });
});
