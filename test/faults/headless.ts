import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/redis-server';

const root = resolve(import.meta.dirname, '../..');

/** `main/headless.ts` in its own process, as `npm run serve` runs it, so a test can kill -9 it. */
export interface HeadlessNode {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
  /** Resolves once the node prints that it is running; rejects if it exits first. */
  running(): Promise<void>;
  /** The admin key of the data dir (admin.key). */
  adminKey(): string;
  /** POSTs an operation with the admin key. */
  op(name: string, input?: unknown): Promise<{ status: number; body: any }>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `entry` is main/headless.ts run through tsx unless a test names a built `headless.js` (electron-vite's
 * output, which finds its dependencies through NODE_PATH when it was built outside the checkout).
 */
export async function launchHeadless(
  dataDir: string,
  args: string[] = [],
  env: Record<string, string> = {},
  user: { uid: number; gid: number } | null = null,
  entry = join(root, 'main/headless.ts'),
  /** The port to listen on (a node started again where it was); default a free one. */
  at?: number,
): Promise<HeadlessNode> {
  const port = at ?? (await freePort());
  const node = [
    process.execPath,
    ...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []),
    entry,
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    ...args,
  ];
  // setpriv execs node in place (same pid), as that user with no supplementary groups.
  const [command, ...argv] = user === null ? node : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', ...node];
  const child = spawn(command as string, argv, {
    cwd: root,
    env: { ...process.env, NODE_PATH: join(root, 'node_modules'), PILOTHOUSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const handle: HeadlessNode = {
    child,
    port,
    url,
    stdout: () => out,
    stderr: () => err,
    exited,
    async running() {
      const deadline = Date.now() + 30_000;
      while (!out.includes('Press Ctrl+C')) {
        if (child.exitCode !== null) throw new Error(`headless exited ${child.exitCode}: ${err}`);
        if (Date.now() > deadline) throw new Error(`headless did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    adminKey: () => readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(),
    async op(name, input = {}) {
      const res = await fetch(`${url}/api/v2/ops/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${handle.adminKey()}` },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: await res.json() };
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return handle;
}
