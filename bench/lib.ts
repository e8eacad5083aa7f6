import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** Which direction of a figure is good: a rate is `higher`, a latency, size or memory `lower`. */
export type Better = 'higher' | 'lower';

/**
 * How the sides were run: `alternating` (the first side switches every round), `single` (one
 * side, nothing to order), or a sentence for a suite with its own schedule.
 */
export type RunOrder = 'alternating' | 'single' | (string & {});

/** Shared by every suite: the one JSON line a figure is reported as (see docs/benchmarks.md). */
export interface Figure {
  bench: string;
  ours: number;
  baseline?: number | null;
  unit: string;
  /** The bound the figure is judged against, e.g. `">= 0.95"` (on `ratio`) or `"<= 50"` (on `ours`). */
  goal: string | number;
  better: Better;
  order: RunOrder;
  [extra: string]: unknown;
}

/**
 * Prints the figure with `ratio` oriented so that above 1 always means Pilothouse is ahead: ours ÷
 * baseline for higher-is-better figures, baseline ÷ ours for lower-is-better ones.
 */
export function report(figure: Figure): void {
  const { baseline, ours } = figure;
  const hasBaseline = baseline !== undefined && baseline !== null;
  const ratio = !hasBaseline
    ? null
    : figure.better === 'higher'
      ? baseline === 0
        ? null
        : ours / baseline
      : ours === 0
        ? null
        : baseline / ours;
  const line = { ...figure, ratio: ratio === null ? null : Number(ratio.toFixed(3)) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Every figure takes at least this many rounds, whatever a suite's knobs say. */
export const MIN_ROUNDS = 3;

/**
 * `PH_BENCH_SCALE` shrinks (or grows) every suite's amount of work, for a quick check that a suite
 * still runs and prints well-formed lines on a busy machine (`PH_BENCH_SCALE=0.05`). 1 is the
 * recorded size; rounds are never scaled below `MIN_ROUNDS`.
 */
export const SCALE = (() => {
  const raw = Number(process.env.PH_BENCH_SCALE ?? '1');
  return Number.isFinite(raw) && raw > 0 ? raw : 1;
})();

/** `n` times the scale, rounded, never below `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * SCALE));
}

/** A rounds count from a knob, never below `MIN_ROUNDS`. */
export function rounds(wanted: number): number {
  return Math.max(MIN_ROUNDS, Math.floor(wanted));
}

/** True when round `i` runs ours first: the baseline leads the even rounds, ours the odd ones. */
export function oursFirst(round: number): boolean {
  return round % 2 === 1;
}

/**
 * Runs `ours` and `baseline` for `rounds` rounds, switching which goes first every round (so a
 * side does not always inherit the other's warm or hot machine), and returns the median of each.
 */
export async function compareRates(
  roundCount: number,
  ours: () => Promise<number> | number,
  baseline: () => Promise<number> | number,
): Promise<{ ours: number; baseline: number; oursRounds: number[]; baselineRounds: number[]; rounds: number; order: RunOrder }> {
  const n = rounds(roundCount);
  const oursRounds: number[] = [];
  const baselineRounds: number[] = [];
  for (let i = 0; i < n; i += 1) {
    if (oursFirst(i)) {
      oursRounds.push(await ours());
      baselineRounds.push(await baseline());
    } else {
      baselineRounds.push(await baseline());
      oursRounds.push(await ours());
    }
  }
  return { ours: median(oursRounds), baseline: median(baselineRounds), oursRounds, baselineRounds, rounds: n, order: 'alternating' };
}

/**
 * Runs several sides for `rounds` rounds, rotating which side goes first every round (round i
 * starts with side i mod n), and returns every side's rounds and median.
 */
export async function compareMany<K extends string>(
  roundCount: number,
  sides: Record<K, () => Promise<number> | number>,
): Promise<{ medians: Record<K, number>; rounds: Record<K, number[]>; roundCount: number; order: RunOrder }> {
  const n = rounds(roundCount);
  const names = Object.keys(sides) as K[];
  const perSide = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j < names.length; j += 1) {
      const name = names[(i + j) % names.length] as K;
      perSide[name].push(await sides[name]());
    }
  }
  const medians = Object.fromEntries(names.map((k) => [k, median(perSide[k])])) as Record<K, number>;
  return { medians, rounds: perSide, roundCount: n, order: 'rotating (each side leads a round in turn)' };
}

/**
 * Flushes dirty pages and drops the page cache so the next read comes from the disk. Needs root
 * (`echo 3 > /proc/sys/vm/drop_caches`); where that is refused (not root, a read-only /proc in a
 * container) the reads that follow are warm, and the figure must say so: the answer goes in its line.
 */
export function dropCaches(): 'cold' | 'warm' {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return 'cold';
  } catch {
    return 'warm';
  }
}

/** The fleet secret every bench node on one Redis shares (the nodes sign what they write there). */
export const BENCH_FLEET_SECRET = 'bench-fleet-secret-0123456789abcdef-never-in-production';
