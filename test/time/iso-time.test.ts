import { describe, expect, it } from 'vitest';
import { isoTime } from '../../main/iso-time';

describe('isoTime', () => {
  it('formats an instant exactly as Date#toISOString does, the first time and from the cache', () => {
    const instants = [0, 1, 999, 1_000, 86_399_999, 951_782_400_000, 1_798_761_599_999, 4_102_444_800_000, -1, -62_135_596_800_000];
    // 500 instants spread over 1970–2100 with an odd stride, so every field (year to millisecond) varies.
    for (let i = 0; i < 500; i += 1) instants.push(i * 8_204_889_607);
    for (const ms of instants) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    for (const ms of instants) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('keeps formatting correctly past its bound, when old instants have left the cache', () => {
    const start = 1_700_000_000_000;
    for (let i = 0; i < 25_000; i += 1) isoTime(start + i);
    expect(isoTime(start)).toBe(new Date(start).toISOString());
    expect(isoTime(start + 24_999)).toBe(new Date(start + 24_999).toISOString());
  });

  it('refuses an instant that is not a time, as Date does, and caches nothing for it', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
