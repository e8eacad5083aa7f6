/** Shared by every suite: the one JSON line a figure is reported as (see docs/benchmarks.md). */
export interface Figure {
  bench: string;
  ours: number;
  baseline?: number | null;
  unit: string;
  [extra: string]: unknown;
}

/** `ratio` is above 1 when Pilothouse is ahead: ours ÷ baseline for rates, baseline ÷ ours when `better` is `lower`. */
export function report(figure: Figure): void {
  const lower = figure.better === 'lower';
  const missing = figure.baseline === undefined || figure.baseline === null || figure.baseline === 0 || (lower && figure.ours === 0);
  const ratio = missing ? null : lower ? (figure.baseline as number) / figure.ours : figure.ours / (figure.baseline as number);
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

/** Runs `ours` and `baseline` alternately for `rounds` rounds and returns the median rate of each. */
export async function compareRates(
  rounds: number,
  ours: () => Promise<number> | number,
  baseline: () => Promise<number> | number,
): Promise<{ ours: number; baseline: number; oursRounds: number[]; baselineRounds: number[] }> {
  const oursRounds: number[] = [];
  const baselineRounds: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    baselineRounds.push(await baseline());
    oursRounds.push(await ours());
  }
  return { ours: median(oursRounds), baseline: median(baselineRounds), oursRounds, baselineRounds };
}

/** The fleet secret every bench node on one Redis shares (the nodes sign what they write there). */
export const BENCH_FLEET_SECRET = 'bench-fleet-secret-0123456789abcdef-never-in-production';
