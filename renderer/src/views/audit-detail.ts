/** What a tallied row's `detail` holds (docs/security.md, Audit log: the `counted` mode). */
interface Tally {
  counted: number;
  from: string;
  to: string;
  codes?: Record<string, number>;
}

function isTally(value: unknown): value is Tally {
  const t = value as Partial<Tally> | null;
  return typeof t === 'object' && t !== null && typeof t.counted === 'number' && typeof t.from === 'string' && typeof t.to === 'string';
}

const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

/**
 * An audit row's detail as a person reads it: a tally ("3 calls, 3:00–3:01 AM · PH_FORBIDDEN ×3")
 * rather than its JSON, anything else (an error code, a note) as written.
 */
export function describeAuditDetail(detail: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return detail;
  }
  if (!isTally(parsed)) return detail;
  const calls = `${parsed.counted.toLocaleString()} ${parsed.counted === 1 ? 'call' : 'calls'}`;
  const span = clock.formatRange(new Date(parsed.from), new Date(parsed.to));
  const codes = Object.entries(parsed.codes ?? {}).map(([code, n]) => `${code} ×${n.toLocaleString()}`);
  return [`${calls}, ${span}`, ...codes].join(' · ');
}
