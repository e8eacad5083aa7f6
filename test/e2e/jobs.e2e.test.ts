import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe('Jobs view in Chromium', () => {
  let session: ConsoleSession;
  let longId: string;
  let deadId: string;
  let aborted = false;

  beforeAll(async () => {
    session = await openConsole();
    const queue = session.plane.plane.running.batch.queue;
    // A long job that reports progress until cancelled, a quick one, and one that always fails.
    queue.register('demo.import', async (_payload, ctx) => {
      for (let i = 1; i <= 600 && !ctx.signal.aborted; i += 1) {
        ctx.progress(Math.min(0.95, 0.4 + i / 1000), `row ${i * 100} of 60000`);
        await new Promise((r) => setTimeout(r, 100));
      }
      aborted = ctx.signal.aborted;
      throw ctx.signal.reason;
    });
    queue.register('demo.quick', () => 'ok');
    queue.register('demo.flaky', () => {
      throw new Error('upstream answered 503');
    });
    for (let i = 0; i < 5; i += 1) await session.plane.op('jobs.enqueue', { type: 'demo.quick', payload: { i } });
    deadId = (await session.plane.op('jobs.enqueue', { type: 'demo.flaky', attempts: 1 })).body.job.id;
    longId = (await session.plane.op('jobs.enqueue', { type: 'demo.import', payload: { file: 'hosts.csv' } })).body.job.id;
    await session.plane.op('jobs.enqueue', { type: 'demo.quick', delayMs: 3_600_000 });
    await session.plane.op('batch.submit', {
      background: true,
      batch: { mode: 'non-atomic', operations: [{ resource: 'record', action: 'create', id: 'e2e', data: { collection: 'hosts' } }] },
    });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('shows queues, a running job with a live progress bar, and the dead letters', async () => {
    const { page } = session;
    await signIn(session);
    await openView(session, 'Jobs');
    await page.getByTestId('queues-table').getByText('demo.import').waitFor();
    const row = page.getByTestId(`job-${longId}`);
    await row.getByText('active').waitFor();
    await row.getByText(/row \d+ of 60000/).waitFor();
    const first = Number(await row.getByRole('progressbar').getAttribute('aria-valuenow'));
    await page.waitForTimeout(1_500);
    const later = Number(await row.getByRole('progressbar').getAttribute('aria-valuenow'));
    expect(later).toBeGreaterThan(first);
    await page.getByTestId('dead-letters').getByText('upstream answered 503').waitFor();
    await page.getByTestId('throughput-chart').waitFor();
    await session.screenshot('jobs');
  });

  it('cancels the running job after confirmation, reaching its handler', async () => {
    const { page } = session;
    await page.getByTestId(`job-${longId}`).getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await page.getByTestId(`job-${longId}`).getByText('cancelled').waitFor();
    await expect.poll(() => aborted, { timeout: 10_000 }).toBe(true);
    const audit = await session.plane.op('audit.list', { limit: 10 });
    expect(audit.body.entries.some((e: { action: string; target: string }) => e.action === 'jobs.cancel' && e.target === longId)).toBe(
      true,
    );
  });

  it("retries a dead letter from the console and opens a job's detail", async () => {
    const { page } = session;
    await page.getByTestId('dead-letters').getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
    await expect.poll(async () => (await session.plane.op('jobs.get', { id: deadId })).body.job.attemptsMade, { timeout: 5_000 }).toBe(1);
    await page.getByTestId(`job-${deadId}`).getByRole('button', { name: deadId }).click();
    await page.getByTestId('job-attempts').getByText('upstream answered 503', { exact: true }).first().waitFor();
    await session.screenshot('jobs-detail');
    await page.keyboard.press('Escape');
  });

  it('shows a viewer over its tiny tier one rate-limit banner with the wait, not a dead queue or an endless Loading', async () => {
    const { plane } = session;
    await plane.op('ratelimit.tiers.save', { tier: { name: 'tiny', limit: 5, windowSeconds: 60, burst: 0 } });
    const viewer = await plane.op('keys.create', { name: 'tiny-viewer', role: 'viewer' });
    await plane.op('ratelimit.keys.assign', { id: viewer.body.key.id, tier: 'tiny' });
    // A tab of its own: its own session, the admin's tab stays signed in.
    const page = await session.context.newPage();
    try {
      await page.goto(`${plane.url}/`);
      await page.getByLabel('API key').fill(viewer.body.secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const nav = page.getByRole('navigation', { name: 'Views' });
      await nav.waitFor();
      await nav.getByRole('link', { name: 'Jobs', exact: true }).click();
      // Every read of the view was refused: each part has said so before the banners are counted.
      await page.getByTestId('queues-down').waitFor();
      await page.getByTestId('dead-down').waitFor();
      await page.getByTestId('jobs-count').getByText('Not loaded').waitFor();
      const banners = page.getByRole('alert').filter({ hasText: 'PH_RATE_LIMITED' });
      expect(await banners.count()).toBe(1);
      expect(await banners.textContent()).toMatch(/The tiny rate-limit tier of this key allows no more requests now; try again in \d+ s/);
      expect(await page.getByText('did not answer').count()).toBe(0);
      expect(await page.getByText('Loading…').count()).toBe(0);
    } finally {
      await page.close();
    }
  });
});
