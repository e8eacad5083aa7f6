/**
 * `npm run bench -- graphql`
 * - graphql.query: requests/s of the same read, `jobs.list` with 50 rows and every field of a job,
 *   through `POST /graphql` vs `POST /api/v2/ops/jobs.list`, autocannon against a control plane in a
 *   child process, alternating rounds. Goal ratio ≥ 0.7.
 * - graphql.nested: answers/s for "a service with its 50 instances and their checks": one GraphQL
 *   query (services.summary → instanceList → checks) vs the REST calls it replaces, services.summary
 *   and a services.get per instance (sent together, as a competent client would), at the same
 *   client concurrency. Goal ratio ≥ 2. The line also carries the ratio against summary + one
 *   services.list, the fewest REST calls that return the same data (`ratio_vs_summary_list`).
 * PH_BENCH_SCALE shrinks a run (seconds per round; rounds stay at least three) for a smoke check.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { JobInfoSchema } from '../../contract/ops/jobs';
import { startPlaneProcess, type PlaneProcess } from '../plane-process';
import { compareMany, compareRates, progress, report, scaled } from '../lib';

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}) => Promise<{ requests: { average: number }; errors: number; non2xx: number }>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const ROUNDS = 5;
const LOAD_SECONDS = scaled(4);
const CONNECTIONS = 16;
/** Clients asking for the nested answer at once. */
const CONCURRENCY = 8;

const JOB_FIELDS = Object.keys(JobInfoSchema.properties).join(' ');
const JOBS_QUERY = `{ jobs { list(limit: 50) { total jobs { ${JOB_FIELDS} } } } }`;
const NESTED_QUERY = `{ services { summary(name: "bench") { services { name instances counts { passing warning critical maintenance }
  instanceList { id name address port tags version weight state registeredAt checks { id kind target status output checkedAt changedAt } } } } } }`;

const startPlane = (): Promise<PlaneProcess> => startPlaneProcess(join(import.meta.dirname, 'plane-child.ts'));

async function query(): Promise<void> {
  const plane = await startPlane();
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${plane.adminKey}` };
  const sides = {
    graphql: { url: `${plane.url}/graphql`, body: JSON.stringify({ query: JOBS_QUERY }) },
    rest: { url: `${plane.url}/api/v2/ops/jobs.list`, body: JSON.stringify({ limit: 50 }) },
  };
  try {
    // Both sides answer the same 50 jobs before anything is timed.
    const gql = (await (await fetch(sides.graphql.url, { method: 'POST', headers, body: sides.graphql.body })).json()) as any;
    const rest = (await (await fetch(sides.rest.url, { method: 'POST', headers, body: sides.rest.body })).json()) as any;
    if (gql.data?.jobs.list.jobs.length !== 50 || rest.jobs?.length !== 50) throw new Error('the bench plane does not hold 50 jobs');
    let errors = 0;
    const load = (side: keyof typeof sides) => async () => {
      const r = await autocannon({ ...sides[side], method: 'POST', headers, connections: CONNECTIONS, duration: LOAD_SECONDS });
      errors += r.errors + r.non2xx;
      progress(`graphql.query ${side}: ${Math.round(r.requests.average)} req/s`);
      return r.requests.average;
    };
    await load('graphql')();
    await load('rest')();
    const result = await compareRates(ROUNDS, load('graphql'), load('rest'));
    report({
      bench: 'graphql.query',
      ours: Math.round(result.ours),
      baseline: Math.round(result.baseline),
      unit: 'req/s',
      goal: '>= 0.7',
      better: 'higher',
      order: result.order,
      rounds: result.rounds,
      seconds_per_round: LOAD_SECONDS,
      connections: CONNECTIONS,
      rows: 50,
      errors,
      min: Math.round(Math.min(...result.oursRounds)),
      max: Math.round(Math.max(...result.oursRounds)),
    });
  } finally {
    plane.proc.kill('SIGTERM');
  }
}

async function nested(): Promise<void> {
  const plane = await startPlane();
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${plane.adminKey}` };
  const post = async (path: string, body: unknown): Promise<any> => {
    const res = await fetch(`${plane.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    return res.json();
  };
  const answers = {
    graphql: async () => {
      const body = await post('/graphql', { query: NESTED_QUERY });
      return body.data.services.summary.services[0].instanceList.length as number;
    },
    restPerInstance: async () => {
      await post('/api/v2/ops/services.summary', { name: 'bench' });
      const { instances } = await post('/api/v2/ops/services.list', { name: 'bench' });
      const ids = (instances as { id: string }[]).map((instance) => instance.id);
      return (await Promise.all(ids.map((id) => post('/api/v2/ops/services.get', { id })))).length;
    },
    restSummaryList: async () => {
      const [, list] = await Promise.all([
        post('/api/v2/ops/services.summary', { name: 'bench' }),
        post('/api/v2/ops/services.list', { name: 'bench' }),
      ]);
      return list.instances.length as number;
    },
  };
  /** Answers per second from CONCURRENCY clients asking one after another for LOAD_SECONDS. */
  const rate = (side: keyof typeof answers) => async () => {
    const deadline = performance.now() + LOAD_SECONDS * 1000;
    const started = performance.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          if ((await answers[side]()) !== 50) throw new Error(`${side} did not answer 50 instances`);
          done += 1;
        }
      }),
    );
    const perSecond = done / ((performance.now() - started) / 1000);
    progress(`graphql.nested ${side}: ${Math.round(perSecond)} answers/s`);
    return perSecond;
  };
  try {
    for (const side of Object.keys(answers) as (keyof typeof answers)[]) await answers[side]();
    const result = await compareMany(ROUNDS, {
      graphql: rate('graphql'),
      restPerInstance: rate('restPerInstance'),
      restSummaryList: rate('restSummaryList'),
    });
    const { graphql, restPerInstance, restSummaryList } = result.medians;
    report({
      bench: 'graphql.nested',
      ours: Math.round(graphql),
      baseline: Math.round(restPerInstance),
      unit: 'answers/s',
      goal: '>= 2',
      better: 'higher',
      order: result.order,
      rounds: result.roundCount,
      seconds_per_round: LOAD_SECONDS,
      concurrency: CONCURRENCY,
      instances: 50,
      rest_calls_per_answer: 52,
      baseline_summary_list: Math.round(restSummaryList),
      ratio_vs_summary_list: Number((graphql / restSummaryList).toFixed(3)),
      min: Math.round(Math.min(...result.rounds.graphql)),
      max: Math.round(Math.max(...result.rounds.graphql)),
    });
  } finally {
    plane.proc.kill('SIGTERM');
  }
}

void (async () => {
  await query();
  await nested();
})();
