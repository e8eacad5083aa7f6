/**
 * `npm run bench -- monitoring`
 * - monitoring.overhead: requests/s of a cached API route with all instrumentation on vs off
 *   (autocannon against a fresh child-process server of each side every round, the servers pinned
 *   to one core and the load to another, alternating rounds). Goal ratio ≥ 0.95.
 * - monitoring.timer: operations/s of an empty async operation timed by `OperationTimings.time` vs
 *   timed by prom-client's `histogram.startTimer()` on the same call (a child bound once). Goal ratio ≥ 1.
 */
import { join } from 'node:path';
import { systemClock } from '../../main/clock';
import { OperationTimings } from '../../main/monitoring';
import { Histogram, Registry } from 'prom-client';
import { startChild } from '../child-line';
import { compareRates, progress, report, rounds as atLeast, scaled } from '../lib';
import { compareOnOff, onOffFields, stopChild } from '../load';

const ROUNDS = atLeast(Number(process.env.BENCH_ROUNDS ?? 5));
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? scaled(4, 1));
const CONNECTIONS = 16;
/** Rounds of monitoring.overhead: its sides differ by a few percent, so it takes more than the timer. */
const OVERHEAD_ROUNDS = atLeast(Number(process.env.BENCH_ROUNDS ?? 11));

async function overhead(): Promise<void> {
  const start = async (mode: 'on' | 'off') => {
    const { line, proc } = await startChild(join(import.meta.dirname, 'overhead-server.ts'), [mode], true);
    return { port: Number(line), pid: proc.pid as number, stop: () => stopChild(proc) };
  };
  const shape = { path: '/api/v2/cached', connections: CONNECTIONS, seconds: LOAD_SECONDS, warmSeconds: 2 };
  const result = await compareOnOff('overhead', start, shape, OVERHEAD_ROUNDS);
  report({ bench: 'monitoring.overhead', unit: 'req/s', goal: '>= 0.95', ...onOffFields(result, shape) });
}

const empty = async (): Promise<void> => undefined;

async function timer(): Promise<void> {
  const timings = new OperationTimings(systemClock);
  // What a user would reach for instead: prom-client's own timer on a histogram child bound once.
  const histogram = new Histogram({
    name: 'bench_operation_duration_seconds',
    help: 'bench',
    labelNames: ['operation'],
    registers: [new Registry()],
  });
  const child = histogram.labels('op:empty');
  const N = scaled(300_000, 10_000);
  const rate = async (fn: () => Promise<unknown>) => {
    const started = performance.now();
    for (let i = 0; i < N; i += 1) await fn();
    return N / ((performance.now() - started) / 1000);
  };
  const ours = () => timings.time('op:empty', empty);
  // The same shape as ours: time the call, stop the timer when it settles either way.
  const prom = () => {
    const end = child.startTimer();
    return empty().then(
      (value) => {
        end();
        return value;
      },
      (err: unknown) => {
        end();
        throw err;
      },
    );
  };
  await rate(ours);
  await rate(prom);
  await rate(empty);
  const result = await compareRates(
    ROUNDS,
    () => rate(ours),
    () => rate(prom),
  );
  const bare = await rate(empty);
  progress(
    `timer: ours ${Math.round(result.ours)} ops/s, prom-client startTimer ${Math.round(result.baseline)} ops/s, bare ${Math.round(bare)} ops/s`,
  );
  report({
    bench: 'monitoring.timer',
    ours: Math.round(result.ours),
    baseline: Math.round(result.baseline),
    unit: 'ops/s',
    goal: '>= 1',
    better: 'higher',
    order: result.order,
    rounds: result.rounds,
    baseline_is: 'prom-client histogram.labels(...).startTimer() around the same call',
    calls_per_round: N,
    ns_per_call_ours: Math.round(1e9 / result.ours),
    ns_per_call_baseline: Math.round(1e9 / result.baseline),
    ns_per_bare_call: Math.round(1e9 / bare),
    recorded: timings.statsOf('op:empty', 'total')?.count ?? 0,
    baseline_recorded: (await histogram.get()).values.find((v) => v.metricName === 'bench_operation_duration_seconds_count')?.value ?? 0,
  });
}

void (async () => {
  await timer();
  await overhead();
})();
