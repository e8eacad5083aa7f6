import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Config } from '../../main/config';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '../..');
export const consoleDir = join(root, 'out', 'renderer');
export const screenshotDir = join(root, 'test', 'e2e', 'screenshots');

/** The e2e suites test the built console; build it once if this checkout has not. */
function ensureConsoleBuilt(): void {
  if (existsSync(join(consoleDir, 'index.html'))) return;
  execFileSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
  });
}

export interface ConsoleSession {
  readonly plane: TestPlane;
  readonly page: Page;
  readonly context: BrowserContext;
  /** Saves `<name>.png` under test/e2e/screenshots/. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a headless Pilothouse on a free port and Debian's Chromium against it (not yet signed in). */
export async function openConsole(overrides: Partial<Config> = {}, browser: { ignoreHTTPSErrors?: boolean } = {}): Promise<ConsoleSession> {
  ensureConsoleBuilt();
  mkdirSync(screenshotDir, { recursive: true });
  const plane = await startTestPlane({ consoleDir, ...overrides });
  const profile = tempDir('ph-chromium-');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: process.env.PILOTHOUSE_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1360, height: 860 },
    // A node with a self-signed certificate: the test compares its fingerprint instead.
    ignoreHTTPSErrors: browser.ignoreHTTPSErrors ?? false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Under vitest's 30 s test timeout: a wait that never ends fails naming the locator it waited for, not as a bare test timeout.
  context.setDefaultTimeout(25_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    plane,
    page,
    context,
    async screenshot(name) {
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      profile.remove();
      await plane.stop();
    },
  };
}

/** Signs in on the console's sign-in page with `key` and waits for the live sidebar. */
export async function signIn(session: ConsoleSession, key = session.plane.adminKey): Promise<void> {
  const { page } = session;
  await page.goto(`${session.plane.url}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Views' }).waitFor();
  await page.getByTestId('connection').getByText('live').waitFor();
}

/** Opens one view from the sidebar. */
export async function openView(session: ConsoleSession, label: string): Promise<void> {
  await session.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: label, exact: true }).click();
  await session.page.getByRole('heading', { level: 1, name: label }).waitFor();
}

/**
 * A "ledger" database of `rows` rows (300 random bytes each) in the plane's data directory,
 * registered as a backup source and snapshotted once, as the backup views expect to find one.
 */
export async function seedLedgerSnapshot(plane: TestPlane, rows: number): Promise<void> {
  const path = join(plane.dataDir, 'ledger.db');
  const db = new BetterSqlite3(path);
  db.exec(
    `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) INSERT INTO t (v) SELECT hex(randomblob(300)) FROM c`,
  );
  db.close();
  const registered = await plane.op('backup.sources.register', { name: 'ledger', path });
  const snapshot = await plane.op('backup.snapshot', { id: registered.body.source.id });
  if (snapshot.status !== 200) throw new Error(`the ledger's snapshot answered ${snapshot.status}: ${JSON.stringify(snapshot.body)}`);
}
