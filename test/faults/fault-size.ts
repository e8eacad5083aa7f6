import { appendFileSync } from 'node:fs';

/**
 * How hard the fault suite pushes. The defaults keep `vitest run` (CI) fast; `PH_FAULT_KILLS=50`
 * (what `npm run test:faults:record` uses) runs the full drill.
 */
export const faultSize = {
  /** SIGKILLs of the backup child (snapshot, prune, in-place restore) and of a headless node under writes. */
  kills: Math.max(2, Number(process.env.PH_FAULT_KILLS ?? 6)),
  /** Headless-node kills take a node start each (seconds), so a fifth as many. */
  nodeKills: Math.max(1, Math.round(Number(process.env.PH_FAULT_KILLS ?? 6) / 5)),
  /** Kills of random nodes of a three-node fleet running batch jobs (test/fleet/batch-kills): 20 at the full drill. */
  fleetKills: Math.max(3, Math.round(Number(process.env.PH_FAULT_KILLS ?? 6) * 0.4)),
  /** `batch.apply` jobs in that drill: 250 a kill, so 5,000 at the full drill. */
  fleetJobs: 250 * Math.max(3, Math.round(Number(process.env.PH_FAULT_KILLS ?? 6) * 0.4)),
};

/** One figure for docs/reliability.md: appended as a JSON line to `PH_FAULT_REPORT` when it is set. */
export function reportFigure(name: string, value: number | string, detail = ''): void {
  const file = process.env.PH_FAULT_REPORT;
  if (file === undefined || file === '') return;
  appendFileSync(file, `${JSON.stringify({ name, value, detail })}\n`);
}
