import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until';
import { seriousAxeViolationsInBothThemes, sidewaysOverflow } from './axe-check';
import { cardsScrollingSideways } from './layout-check';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe('Jobs view levers in Chromium: job detail, promote, add from a form, retry all dead of a type, batch reports', () => {
  let session: ConsoleSession;
  let twiceFailed: string;
  let delayed: string;
  let otherDead: string;
  let ownDelayed: string;

  beforeAll(async () => {
    session = await openConsole();
    const { plane } = session;
    const queue = plane.plane.running.batch.queue;
    queue.register('lever.flaky', function callUpstream(_payload, ctx) {
      ctx.progress(0.3, 'fetching page 3');
      ctx.log('calling upstream');
      throw new Error('upstream answered 503');
    });
    queue.register('lever.other', () => {
      throw new Error('other failure');
    });
    queue.register('lever.quick', () => 'ok');
    twiceFailed = (await plane.op('jobs.enqueue', { type: 'lever.flaky', payload: { page: 3 }, attempts: 2, backoffMs: 0 })).body.job.id;
    for (let i = 0; i < 3; i += 1) await plane.op('jobs.enqueue', { type: 'lever.flaky', payload: { page: i }, attempts: 1 });
    otherDead = (await plane.op('jobs.enqueue', { type: 'lever.other', attempts: 1 })).body.job.id;
    delayed = (await plane.op('jobs.enqueue', { type: 'lever.quick', delayMs: 3_600_000 })).body.job.id;
    // A type of Pilothouse's own, as webhook.deliver is: only the node enqueues it.
    queue.register('lever.own', () => 'ok', { internal: true });
    ownDelayed = (await queue.enqueue({ type: 'lever.own', delayMs: 3_600_000 })).id;
    await plane.op('batch.submit', {
      batch: {
        mode: 'non-atomic',
        continueOnError: true,
        operations: [
          { resource: 'record', action: 'create', id: 'h1', data: { collection: 'hosts' } },
          { resource: 'record', action: 'update', id: 'ghost', data: { collection: 'hosts', name: 'x' } },
        ],
      },
    });
    const deadOf = async (type: string) => (await plane.op('jobs.list', { state: 'dead', type, limit: 1 })).body.total;
    await until(async () => (await deadOf('lever.flaky')) === 4 && (await deadOf('lever.other')) === 1, 15_000, 'the failing jobs to die');
    await signIn(session);
    // A step that does not happen fails with its locator named, inside the test's own time.
    session.page.setDefaultTimeout(10_000);
    await openView(session, 'Jobs');
  }, 60_000);
  afterAll(async () => {
    await session?.close();
  });

  it("offers no Cancel or Delete on a job of Pilothouse's own that has not ended (the server refuses both), and both on a caller's", async () => {
    const { page } = session;
    const own = page.getByTestId(`job-${ownDelayed}`);
    await own.getByRole('button', { name: 'Promote' }).waitFor();
    expect(await own.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    expect(await own.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    const callers = page.getByTestId(`job-${delayed}`);
    await callers.getByRole('button', { name: 'Cancel' }).waitFor();
    expect(await callers.getByRole('button', { name: 'Delete' }).count()).toBe(1);
  });

  it("opens a job's detail with each attempt's error and stack, its log and progress timeline, axe clean, closed by Escape", async () => {
    const { page } = session;
    await page.getByTestId(`job-${twiceFailed}`).getByRole('button', { name: twiceFailed }).click();
    const dialog = page.getByRole('dialog');
    const attempts = dialog.getByTestId('job-attempts');
    await attempts.getByText('attempt 2').waitFor();
    expect(await attempts.locator('li').count()).toBe(2);
    expect(await attempts.getByText('upstream answered 503', { exact: true }).count()).toBe(2);
    await attempts.locator('summary', { hasText: 'Stack' }).first().click();
    await attempts
      .getByText(/at (Object\.)?callUpstream/)
      .first()
      .waitFor();
    await dialog.getByTestId('job-log').getByText('calling upstream').first().waitFor();
    await dialog
      .getByTestId('job-timeline')
      .getByText(/30 % · fetching page 3/)
      .first()
      .waitFor();
    expect(await seriousAxeViolationsInBothThemes(page, '[role="dialog"]')).toEqual([]);
    await session.screenshot('jobs-detail-attempts');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('promotes a delayed job after an in-page confirmation, and it runs, audited', async () => {
    const { page, plane } = session;
    await page.getByTestId(`job-${delayed}`).getByRole('button', { name: 'Promote' }).click();
    const confirm = page.getByRole('dialog');
    await confirm.getByText(`Run job ${delayed} (lever.quick) now?`).waitFor();
    await confirm.getByRole('button', { name: 'Run now' }).click();
    await confirm.waitFor({ state: 'detached' });
    await expect.poll(async () => (await plane.op('jobs.get', { id: delayed })).body.job.state, { timeout: 10_000 }).toBe('completed');
    await page.getByTestId(`job-${delayed}`).getByText('completed').waitFor();
    const audit = await plane.op('audit.list', { limit: 50 });
    expect(audit.body.entries.some((e: { action: string; target: string }) => e.action === 'jobs.promote' && e.target === delayed)).toBe(
      true,
    );
  });

  it('adds a job from the form: a registered type, a JSON payload checked before sending, a priority and a delay', async () => {
    const { page, plane } = session;
    await page.getByRole('button', { name: 'Add job…' }).click();
    const form = page.getByTestId('add-job-form');
    await form.getByLabel('Job type').selectOption('lever.quick');
    await form.getByLabel('Payload').fill('{"rows": ');
    await form
      .getByRole('alert')
      .getByText(/Not JSON/)
      .waitFor();
    expect(await form.getByRole('button', { name: 'Add job' }).isDisabled()).toBe(true);
    await form.getByLabel('Payload').fill('{"rows": [1, 2], "source": "form"}');
    await form.getByLabel(/Priority/).fill('7');
    await form.getByLabel(/Delay/).fill('600');
    expect(await seriousAxeViolationsInBothThemes(page, '[role="dialog"]')).toEqual([]);
    await session.screenshot('jobs-add-form');
    await form.getByRole('button', { name: 'Add job' }).click();
    const notice = page.getByTestId('jobs-notice');
    await notice.getByText(/Added job/).waitFor();
    const id = ((await notice.textContent()) ?? '').match(/Added job (\S+)\./)?.[1] as string;
    const { job } = (await plane.op('jobs.get', { id })).body;
    expect(job).toMatchObject({ type: 'lever.quick', payload: { rows: [1, 2], source: 'form' }, priority: 7, state: 'delayed' });
    expect(Date.parse(job.runAt) - Date.parse(job.createdAt)).toBe(600_000);
    // The new job's detail opens, with its payload as a tree and the name of the key that added it.
    const detail = page.getByRole('dialog');
    await detail.getByTestId('json-tree').getByText('"form"').waitFor();
    expect(job.createdBy).toMatch(/^key:/);
    const keys = (await plane.op('keys.list', {})).body.keys as { id: string; name: string }[];
    const name = keys.find((k) => `key:${k.id}` === job.createdBy)?.name as string;
    const creator = detail.locator('.key-name', { hasText: name });
    await creator.waitFor();
    expect(await creator.getAttribute('title')).toBe(job.createdBy);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it('retries every dead job of one type, with the count from the server in the question, and leaves other types dead', async () => {
    const { page, plane } = session;
    const lever = page.getByTestId('retry-all-dead');
    await lever.getByLabel('Dead letters of type').selectOption('lever.flaky');
    await lever.getByRole('button', { name: 'Retry all dead of this type…' }).click();
    const confirm = page.getByRole('dialog');
    await confirm.getByRole('heading', { name: 'Retry 4 dead lever.flaky jobs?' }).waitFor();
    expect(await seriousAxeViolationsInBothThemes(page, '[role="dialog"]')).toEqual([]);
    await confirm.getByRole('button', { name: 'Retry 4' }).click();
    await page.getByTestId('jobs-notice').getByText('Retried 4 dead lever.flaky jobs.').waitFor();
    expect((await plane.op('jobs.get', { id: otherDead })).body.job.state).toBe('dead');
    const audit = await plane.op('audit.list', { limit: 50 });
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'jobs.retryDead')).toBe(true);
  });

  it("shows batch reports, and a partial batch's failed operation with its error", async () => {
    const { page } = session;
    const table = page.getByTestId('batch-reports');
    await table.getByText('partial').waitFor();
    await table.getByRole('button', { name: 'Show failed operations' }).click();
    const failed = page.getByTestId('batch-failed-ops');
    await failed.getByText('#1').waitFor();
    await failed.getByText('No record ghost in hosts').waitFor();
    // The card's own check; the whole view is checked in both themes by access.e2e.test.ts.
    expect(await seriousAxeViolationsInBothThemes(page, 'section.card:has([data-testid="batch-reports"])')).toEqual([]);
    await session.screenshot('jobs-batch-reports');
  });

  it('fits 1024 px without sideways scroll with every new card and dialog filled', async () => {
    const { page } = session;
    await page.setViewportSize({ width: 1024, height: 700 });
    try {
      await page.getByTestId('batch-failed-ops').waitFor();
      expect(await sidewaysOverflow(page)).toBe(0);
      expect(await cardsScrollingSideways(page)).toEqual([]);
      await page.getByTestId(`job-${twiceFailed}`).getByRole('button', { name: twiceFailed }).click();
      await page.getByRole('dialog').getByTestId('job-attempts').waitFor();
      expect(await sidewaysOverflow(page)).toBe(0);
      expect(await cardsScrollingSideways(page)).toEqual([]);
      await session.screenshot('jobs-levers-1024x700');
      await page.keyboard.press('Escape');
    } finally {
      await page.setViewportSize({ width: 1360, height: 860 });
    }
  });
});
