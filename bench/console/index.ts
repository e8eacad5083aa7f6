/**
 * `npm run bench -- console`: how long the console takes to show each view's first page on a node
 * holding 10,000 jobs and 10,000 cache keys (issue #17: "every view loads its first page in ≤ 300
 * ms and any job or key is reachable by search"), in Debian's Chromium driven by playwright-core.
 *
 * - console.first-page: per view, from the click on its sidebar link until every request the view
 *   sent for its first page has been answered and the next frame painted; `ours` is the slowest
 *   view's median over the rounds (a latency bound, no baseline; lower is better).
 *   Beside it, `job_search_ms` and `key_search_ms`: from typing a job's id in the job search (an exact
 *   key in the key pattern) until its row is on screen, the search box's 250 ms settle included.
 *
 * Views are visited in a different order each round (rotated), so no view always follows the same one.
 * BENCH_CONSOLE_ROUNDS (default 3), BENCH_CONSOLE_JOBS and BENCH_CONSOLE_KEYS (default 10,000) set the size.
 */
import type { Page, Request } from 'playwright-core';
import { openConsole, openView, signIn, type ConsoleSession } from '../../test/e2e/harness';
import { MIN_ROUNDS, median, progress, report } from '../lib';

const ROUNDS = Math.max(MIN_ROUNDS, Number(process.env.BENCH_CONSOLE_ROUNDS ?? 3));
const JOBS = Number(process.env.BENCH_CONSOLE_JOBS ?? 10_000);
const KEYS = Number(process.env.BENCH_CONSOLE_KEYS ?? 10_000);
const VIEWS = ['Overview', 'Cache', 'Real-time', 'Jobs', 'Sagas', 'Backups', 'Services', 'Webhooks', 'Security', 'Audit', 'GraphQL'];
/** A view's first page is in when no request of its own has been open for this long. */
const QUIET_MS = 150;

async function seed(session: ConsoleSession): Promise<string> {
  const { plane } = session.plane;
  const types = ['import.row', 'mail.send', 'report.build', 'invoice.render'];
  const ids: string[] = [];
  for (let start = 0; start < JOBS; start += 1_000) {
    const specs = Array.from({ length: Math.min(1_000, JOBS - start) }, (_, i) => ({
      type: types[(start + i) % types.length] as string,
      payload: { n: start + i },
    }));
    ids.push(...(await plane.running.batch.queue.enqueueBulk(specs)));
  }
  const catalog = plane.running.cache.namespace('catalog');
  for (let i = 0; i < KEYS; i += 1) await catalog.set(`sku:${String(i).padStart(5, '0')}`, { i }, { ttl: 3_600_000 });
  return ids[Math.floor(JOBS / 2) + 17] as string;
}

/**
 * Resolves when the requests the page sent since `since` have all been answered and none new has
 * started for QUIET_MS; the time is that of the last answer. Live updates over the WebSocket are not
 * requests, so a view's own polling timers (seconds apart) do not keep it open.
 */
function firstPageDone(page: Page): { arm: () => Promise<number>; stop: () => void } {
  const open = new Set<Request>();
  let lastAnswer = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let armed = false;
  let resolve!: (at: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  const settle = (): void => {
    clearTimeout(timer);
    if (armed && open.size === 0) timer = setTimeout(() => resolve(lastAnswer), QUIET_MS);
  };
  const onRequest = (r: Request): void => {
    if (!r.url().includes('/api/')) return;
    open.add(r);
    clearTimeout(timer);
  };
  const onEnd = (r: Request): void => {
    if (!open.delete(r)) return;
    lastAnswer = performance.now();
    settle();
  };
  page.on('request', onRequest);
  page.on('requestfinished', onEnd);
  page.on('requestfailed', onEnd);
  return {
    // Armed once the view is on screen: its first requests were sent as it mounted.
    arm: () => {
      armed = true;
      settle();
      return done;
    },
    stop: () => {
      clearTimeout(timer);
      page.off('request', onRequest);
      page.off('requestfinished', onEnd);
      page.off('requestfailed', onEnd);
    },
  };
}

// Run in the page (written as text: this file is type-checked without the DOM's types).
const WATCH_MUTATIONS = `(() => {
  window.__mutations = [];
  new MutationObserver(() => window.__mutations.push(performance.now())).observe(document.body, {
    childList: true, subtree: true, characterData: true, attributes: true,
  });
  document.addEventListener('click', () => { window.__clickAt = performance.now(); }, { capture: true });
  performance.setResourceTimingBufferSize(100000);
})()`;
const RESET = `(() => { performance.clearResourceTimings(); window.__mutations = []; window.__clickAt = null; })()`;
const FIRST_PAGE_MS = `(() => {
  const start = window.__clickAt;
  const answers = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/') && e.startTime >= start)
    .map((e) => e.responseEnd);
  const lastAnswer = Math.max(start, ...answers);
  const painted = window.__mutations.filter((t) => t >= start && t <= lastAnswer + 100);
  return Math.max(lastAnswer, ...painted) - start;
})()`;

/**
 * In the page's own clock: from the click on the sidebar link to the later of the last answer of the view's
 * first-page requests and the last DOM change within 100 ms of it (React applying that answer; later
 * changes are live updates, not the first page).
 */
async function timeView(session: ConsoleSession, label: string): Promise<number> {
  const { page } = session;
  await page.evaluate(RESET);
  const watch = firstPageDone(page);
  try {
    await openView(session, label);
    await watch.arm();
  } finally {
    watch.stop();
  }
  return page.evaluate<number>(FIRST_PAGE_MS);
}

async function timeJobSearch(session: ConsoleSession, id: string): Promise<number> {
  const { page } = session;
  await openView(session, 'Jobs');
  await page.getByTestId('jobs-count').waitFor();
  const started = performance.now();
  await page.getByLabel('Search jobs').fill(id);
  await page.getByTestId(`job-${id}`).waitFor();
  const took = performance.now() - started;
  await page.getByLabel('Search jobs').fill('');
  return took;
}

async function timeKeySearch(session: ConsoleSession, key: string): Promise<number> {
  const { page } = session;
  await openView(session, 'Cache');
  await page.getByTestId('keys-browser').locator('..').locator('select').first().selectOption('catalog');
  await page.getByTestId('keys-count').waitFor();
  const started = performance.now();
  await page.getByLabel('Key pattern').fill(key);
  await page.getByTestId('keys-browser').getByRole('button', { name: key, exact: true }).waitFor();
  const took = performance.now() - started;
  await page.getByLabel('Key pattern').fill('');
  return took;
}

async function main(): Promise<void> {
  const session = await openConsole();
  try {
    session.page.setDefaultTimeout(30_000);
    progress(`console: seeding ${JOBS} jobs and ${KEYS} cache keys`);
    const middleJob = await seed(session);
    await signIn(session);
    await session.page.evaluate(WATCH_MUTATIONS);
    // One visit of every view first, so the browser has parsed the bundle and each view's code once.
    for (const label of VIEWS) await timeView(session, label);

    const perView = new Map<string, number[]>(VIEWS.map((v) => [v, []]));
    const jobSearch: number[] = [];
    const keySearch: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = [...VIEWS.slice(round % VIEWS.length), ...VIEWS.slice(0, round % VIEWS.length)];
      for (const label of order) {
        const ms = await timeView(session, label);
        perView.get(label)?.push(ms);
        progress(`console.first-page round ${round + 1} ${label}: ${ms.toFixed(0)} ms`);
      }
      const keyName = `sku:${String((round * 3_331) % KEYS).padStart(5, '0')}`;
      if (round % 2 === 0) {
        jobSearch.push(await timeJobSearch(session, middleJob));
        keySearch.push(await timeKeySearch(session, keyName));
      } else {
        keySearch.push(await timeKeySearch(session, keyName));
        jobSearch.push(await timeJobSearch(session, middleJob));
      }
      progress(`console search round ${round + 1}: job ${jobSearch.at(-1)?.toFixed(0)} ms, key ${keySearch.at(-1)?.toFixed(0)} ms`);
    }

    const medians = Object.fromEntries([...perView].map(([label, values]) => [label, Math.round(median(values))]));
    const [slowestView, slowest] = Object.entries(medians).sort((a, b) => b[1] - a[1])[0] as [string, number];
    report({
      bench: 'console.first-page',
      ours: slowest,
      unit: 'ms',
      goal: '<= 300',
      better: 'lower',
      order: 'views rotated each round',
      rounds: ROUNDS,
      jobs: JOBS,
      keys: KEYS,
      slowest_view: slowestView,
      per_view_ms: medians,
      // Typing to the row on screen, the search box's 250 ms settle included (not part of the goal).
      job_search_ms: Math.round(median(jobSearch)),
      key_search_ms: Math.round(median(keySearch)),
    });
  } finally {
    await session.close();
  }
}

void main();
