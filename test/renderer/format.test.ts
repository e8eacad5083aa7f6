import { describe, expect, it } from 'vitest';
import { NBSP, countOf, formatBytes, formatTime } from '../../renderer/src/components/format';

const AT = '2026-12-05T02:13:06.000Z';
const locale = (iso: string): string => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
/** ICU puts a narrow no-break space before AM/PM in some versions and a space in others. */
const spaced = (text: string): string => text.replace(/[\u00a0\u202f]/g, ' ');

describe('formatTime: an instant a narrow table cell breaks only between its date and its time', () => {
  it("reads as the locale's medium date and time", () => {
    expect(spaced(formatTime(AT))).toBe(spaced(locale(AT)));
  });

  it('leaves one place to break: the date on one side, the time on the other', () => {
    const pieces = formatTime(AT).split(' ');
    expect(pieces).toHaveLength(2);
    expect(pieces[0]).toContain(String(new Date(AT).getFullYear()));
    expect(pieces[1]).toContain(String(new Date(AT).getSeconds()).padStart(2, '0'));
  });

  it('shows a dash for no instant and the text itself for one that is not a date', () => {
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a date')).toBe('not a date');
  });
});

describe('formatBytes: a size in binary units that never parts from its unit', () => {
  it('writes bytes, then KiB and up with two decimals under 10', () => {
    expect(formatBytes(289)).toBe(`289${NBSP}B`);
    expect(formatBytes(1536)).toBe(`1.50${NBSP}KiB`);
    expect(formatBytes(50 * 1024 * 1024)).toBe(`50.0${NBSP}MiB`);
  });
});

describe('countOf: a count and its noun', () => {
  it('is singular for one and plural otherwise, with a plural of its own where the noun needs one', () => {
    expect(countOf(1, 'page')).toBe(`1${NBSP}page`);
    expect(countOf(0, 'page')).toBe(`0${NBSP}pages`);
    expect(countOf(3, 'entry', 'entries')).toBe(`3${NBSP}entries`);
    expect(countOf(1_000_000, 'row')).toBe(`${(1_000_000).toLocaleString()}${NBSP}rows`);
  });
});
