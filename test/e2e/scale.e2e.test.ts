import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

const JOBS = 10_000;
const KEYS = 10_000;
describe('console at scale: 10,000 jobs and 10,000 cache keys', () => {
  let session: ConsoleSession;
  let middleJob: string;

  beforeAll(async () => {
    session = await openConsole();
    const { plane } = session.plane;
    // Through the store's own bulk path: no handler is registered for these types, so they stay as seeded.
    const types = ['import.row', 'mail.send', 'report.build', 'invoice.render'];
    const ids: string[] = [];
    for (let start = 0; start < JOBS; start += 1_000) {
      const specs = Array.from({ length: 1_000 }, (_, i) => ({
        type: types[(start + i) % types.length] as string,
        payload: { n: start + i },
      }));
      ids.push(...(await plane.running.batch.queue.enqueueBulk(specs)));
    }
    middleJob = ids[JOBS / 2 + 17] as string;
    const catalog = plane.running.cache.namespace('catalog');
    for (let i = 0; i < KEYS; i += 1) await catalog.set(`sku:${String(i).padStart(5, '0')}`, { i }, { ttl: 3_600_000 });
  }, 120_000);
  afterAll(async () => {
    await session?.close();
  });

  /** Each test can run on its own (`-t`): sign in unless an earlier one already did. */
  async function ensureSignedIn(): Promise<void> {
    if ((await session.page.getByRole('navigation', { name: 'Views' }).count()) === 0) await signIn(session);
  }

  /** Counts straight from the node's database file, not through the code under test. */
  function storeCount(sql: string): number {
    const db = new BetterSqlite3(join(session.plane.dataDir, 'pilothouse.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(sql).get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it("shows the store's job count, and reaches any job by searching its id", async () => {
    const { page } = session;
    page.setDefaultTimeout(10_000);
    await ensureSignedIn();
    await openView(session, 'Jobs');
    const stored = storeCount('SELECT count(*) AS n FROM jobs');
    expect(stored).toBeGreaterThanOrEqual(JOBS);
    await page
      .getByTestId('jobs-count')
      .getByText(`50 of ${stored.toLocaleString('en')} jobs`)
      .waitFor();
    await page.getByRole('button', { name: 'Load more' }).first().click();
    await page
      .getByTestId('jobs-count')
      .getByText(`100 of ${stored.toLocaleString('en')} jobs`)
      .waitFor();
    await page.getByLabel('Type filter').selectOption('mail.send');
    const mail = storeCount("SELECT count(*) AS n FROM jobs WHERE type = 'mail.send'");
    await page
      .getByTestId('jobs-count')
      .getByText(`50 of ${mail.toLocaleString('en')} jobs`)
      .waitFor();
    await page.getByLabel('Type filter').selectOption('');
    await page.getByLabel('Search jobs').fill(middleJob);
    await page.getByTestId(`job-${middleJob}`).waitFor();
    await page.getByTestId('jobs-count').getByText('1 of 1 jobs').waitFor();
    await session.screenshot('scale-jobs-search');
  });

  it("shows the store's key count, pages by scrolling a windowed list, and reaches any key by pattern", async () => {
    const { page } = session;
    await ensureSignedIn();
    await openView(session, 'Cache');
    await page.getByTestId('keys-browser').locator('..').locator('select').first().selectOption('catalog');
    await page
      .getByTestId('keys-count')
      .getByText(`50 of ${KEYS.toLocaleString('en')} keys`)
      .waitFor();
    expect(storeCount("SELECT count(*) AS n FROM cache_entries WHERE namespace = 'catalog'")).toBe(KEYS);
    // Four pages more: the table windows its rows, so the DOM holds far fewer than are loaded.
    for (let loaded = 100; loaded <= 250; loaded += 50) {
      await page.getByTestId('keys-count').getByRole('button', { name: 'Load more' }).click();
      await page
        .getByTestId('keys-count')
        .getByText(`${loaded} of ${KEYS.toLocaleString('en')} keys`)
        .waitFor();
    }
    expect(await page.getByTestId('keys-browser').locator('tbody tr:not([aria-hidden])').count()).toBeLessThan(100);
    await page.getByRole('region', { name: 'Cache keys' }).evaluate((el) => (el.scrollTop = 200 * 37));
    await page.getByTestId('keys-browser').getByRole('button', { name: 'sku:00200', exact: true }).waitFor();
    await page.getByLabel('Key pattern').fill('sku:0777*');
    await page.getByTestId('keys-count').getByText('10 of 10 keys').waitFor();
    await page.getByLabel('Key pattern').fill('sku:09999');
    await page.getByTestId('keys-browser').getByRole('button', { name: 'sku:09999', exact: true }).waitFor();
    await page.getByTestId('keys-count').getByText('1 of 1 keys').waitFor();
    await session.screenshot('scale-cache-keys');
  });

  it("filters the audit log by action and shows the store's count of the rows that match", async () => {
    const { page, plane } = session;
    await ensureSignedIn();
    for (let i = 0; i < 3; i += 1) expect((await plane.op('keys.create', { name: `scale-${i}`, role: 'viewer' })).status).toBe(200);
    await openView(session, 'Audit');
    await page.getByLabel('Audit action').fill('keys.create');
    const stored = storeCount("SELECT count(*) AS n FROM audit_log WHERE action = 'keys.create'");
    expect(stored).toBeGreaterThanOrEqual(3);
    await page.getByTestId('audit-count').getByText(`${stored} matching entries`).waitFor();
    const actions = await page.getByTestId('audit-table').locator('tbody tr td:nth-child(4)').allTextContents();
    expect(new Set(actions)).toEqual(new Set(['keys.create']));
  });
});
