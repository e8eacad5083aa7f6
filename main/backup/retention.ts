import { PhError } from '../../contract/errors';

/** Restic-style retention rules; a snapshot is kept when any rule keeps it. No rule at all keeps everything. */
export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  /** A duration such as `36h`, `7d`, `2w`, `1d12h`: keep everything taken within it of now. */
  readonly keepWithin?: string;
}

export interface Dated {
  readonly id: string;
  readonly capturedAt: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new PhError('PH_INVALID_INPUT', `"${text}" is not a duration like 36h, 7d or 1d12h`, { field: 'retention.keepWithin' });
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] as string] as number), 0);
}

const hasRules = (p: RetentionPolicy): boolean =>
  [p.keepLast, p.keepHourly, p.keepDaily, p.keepWeekly, p.keepMonthly].some((n) => n !== undefined && n > 0) || p.keepWithin !== undefined;

/** Buckets in UTC: hour, day, ISO-ish week (weeks start Monday), month. */
const bucketers: [keyof RetentionPolicy, (t: number) => string][] = [
  ['keepHourly', (t) => new Date(t).toISOString().slice(0, 13)],
  ['keepDaily', (t) => new Date(t).toISOString().slice(0, 10)],
  ['keepWeekly', (t) => String(Math.floor((t / 86_400_000 + 3) / 7))],
  ['keepMonthly', (t) => new Date(t).toISOString().slice(0, 7)],
];

/**
 * Which snapshots to keep, of one source's: the newest `keepLast`; the newest in each of the latest
 * N hours/days/weeks/months that have one; everything within `keepWithin` of `now`.
 */
export function selectKept<T extends Dated>(snapshots: readonly T[], policy: RetentionPolicy, now: number): Set<string> {
  const newestFirst = [...snapshots].sort((a, b) => b.capturedAt - a.capturedAt || b.id.localeCompare(a.id));
  if (!hasRules(policy)) return new Set(newestFirst.map((s) => s.id));
  const keep = new Set<string>();
  newestFirst.slice(0, policy.keepLast ?? 0).forEach((s) => keep.add(s.id));
  for (const [rule, bucketOf] of bucketers) {
    const n = (policy[rule] as number | undefined) ?? 0;
    const seen = new Set<string>();
    for (const s of newestFirst) {
      if (seen.size >= n) break;
      const b = bucketOf(s.capturedAt);
      if (seen.has(b)) continue;
      seen.add(b);
      keep.add(s.id);
    }
  }
  if (policy.keepWithin !== undefined) {
    const within = parseDuration(policy.keepWithin);
    for (const s of newestFirst) if (now - s.capturedAt <= within) keep.add(s.id);
  }
  return keep;
}
