import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Splits the soak node's CPU profile (`BENCH_SOAK_PROFILE=<dir> npm run bench -- soak`) into the
 * snapshot-and-verify windows and the rest, and prints for each: how busy the main thread was, the
 * functions that took it (self time), and the long tasks (runs of samples with no idle between
 * them, the stalls a request queues behind) with the project functions inside them.
 *
 *   npx tsx bench/soak/profile-windows.ts <dir> [top]
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const LONG_TASK_MS = 20;
const dir = process.argv[2] as string;
const top = Number(process.argv[3] ?? 15);
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
const windows = JSON.parse(readFileSync(join(dir, 'windows.json'), 'utf8')) as { from: number; to: number }[];

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const short = (url: string): string =>
  url
    .replace(/^.*\/node_modules\//, 'npm:')
    .replace(/^.*\/wt\/[^/]+\//, '')
    .replace(/^file:\/\//, '');
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const idle = (id: number): boolean => ['(idle)', '(program)'].includes(byId.get(id)?.callFrame.functionName ?? '');
/** Project frames (main/, not node_modules) on a sample's stack, innermost first, each once. */
const ownFrames = (id: number): string[] => {
  const out = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const n = byId.get(at) as ProfileNode;
    if (/\/main\//.test(n.callFrame.url) && !n.callFrame.url.includes('node_modules')) out.add(label(n));
  }
  return [...out];
};

interface Side {
  total: number;
  busy: number;
  self: Map<string, number>;
  long: { ms: number; own: Map<string, number> }[];
}
const sides: Record<'snapshot' | 'quiet', Side> = {
  snapshot: { total: 0, busy: 0, self: new Map(), long: [] },
  quiet: { total: 0, busy: 0, self: new Map(), long: [] },
};
const inWindow = (t: number): boolean => windows.some((w) => t >= w.from && t <= w.to);

let t = profile.startTime;
let run: { side: Side; ms: number; own: Map<string, number> } | null = null;
const endRun = (): void => {
  if (run !== null && run.ms >= LONG_TASK_MS) run.side.long.push({ ms: run.ms, own: run.own });
  run = null;
};
profile.samples.forEach((id, i) => {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  t += profile.timeDeltas[i] ?? 0;
  const side = sides[inWindow(t) ? 'snapshot' : 'quiet'];
  side.total += dt;
  if (idle(id)) return endRun();
  side.busy += dt;
  const name = label(byId.get(id) as ProfileNode);
  side.self.set(name, (side.self.get(name) ?? 0) + dt);
  if (run !== null && run.side !== side) endRun();
  run ??= { side, ms: 0, own: new Map() };
  run.ms += dt;
  for (const f of ownFrames(id)) run.own.set(f, (run.own.get(f) ?? 0) + dt);
});
endRun();

const rows = (m: Map<string, number>, over: number, k: number): string[] =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, ms]) => `  ${((100 * ms) / over).toFixed(1).padStart(5)}%  ${name}`);
for (const [name, side] of Object.entries(sides)) {
  const long = side.long.sort((a, b) => b.ms - a.ms);
  const longMs = long.reduce((s, l) => s + l.ms, 0);
  console.log(`== ${name}: ${(side.total / 1000).toFixed(1)} s, main thread busy ${((100 * side.busy) / side.total).toFixed(1)}%`);
  console.log(`-- self time, share of busy`);
  console.log(rows(side.self, side.busy, top).join('\n'));
  const ms = long.map((l) => Math.round(l.ms));
  console.log(
    `-- long tasks (>= ${LONG_TASK_MS} ms): ${long.length}, ${(longMs / 1000).toFixed(2)} s, longest ${ms.slice(0, 10).join(', ')} ms`,
  );
  const own = new Map<string, number>();
  for (const l of long) for (const [f, v] of l.own) own.set(f, (own.get(f) ?? 0) + v);
  console.log(`-- project functions inside long tasks (inclusive, share of long-task time)`);
  console.log(rows(own, longMs, top).join('\n'));
}
