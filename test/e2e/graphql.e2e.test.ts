import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, signIn, type ConsoleSession } from './harness';

describe('GraphQL explorer in Chromium', () => {
  let session: ConsoleSession;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    session = await openConsole();
    session.page.on('console', (message) => {
      // A refusal is a violation (the console's own CSP notices are not refusals).
      if (/Refused to .*Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('sends a browser opening /graphql to sign-in, then to the explorer, which runs a query as the signed-in key', async () => {
    const { page } = session;
    await page.goto(`${session.plane.url}/graphql`);
    expect(page.url()).toBe(`${session.plane.url}/#/graphql`);
    await page.getByLabel('API key').waitFor();
    await signIn(session);
    await page.getByTestId('graphql-link').click();
    await page.getByRole('heading', { level: 1, name: 'GraphQL' }).waitFor();
    await page.getByTestId('graphql-query').fill('{ system { status { version mode } } }');
    await page.getByTestId('graphql-run').click();
    const answer = page.getByTestId('graphql-answer');
    await answer.getByText('"mode": "HEADLESS"').waitFor();
    expect(await answer.textContent()).toContain('HTTP 200');
    await page.getByPlaceholder('e.g. JobInfo, instanceList, jobsProgress').fill('jobsProgress');
    await page.getByText('jobsProgress(', { exact: false }).first().waitFor();
    await session.screenshot('graphql-explorer');
    expect(cspViolations).toEqual([]);
  });
});
