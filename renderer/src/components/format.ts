/** How the console writes durations, instants and sizes: pure functions, shared by every view. */

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A number and its unit never part at a line end. */
export const NBSP = '\u00a0';

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/**
 * An instant in the operator's locale ("Dec 5, 2026, 2:13:06 AM"). A narrow table cell may break it
 * between the date and the time only, so it takes two lines at most rather than four.
 */
export function formatTime(iso: string | null): string {
  if (iso === null) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const parts = dateTimeFormat.formatToParts(at);
  const timeStarts = parts.findIndex((p) => p.type === 'hour' || p.type === 'dayPeriod');
  return parts.map((p, i) => (i === timeStarts - 1 ? p.value : p.value.replaceAll(' ', NBSP))).join('');
}

/** A byte count in binary units (KiB, MiB, …), two decimals under 10. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n}${NBSP}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)}${NBSP}${units[u]}`;
}

/** A count and its noun, singular for one ("1 page", "3 pages"), the count grouped by the locale. */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString()}${NBSP}${n === 1 ? singular : plural}`;
}
