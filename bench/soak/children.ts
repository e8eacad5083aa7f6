import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { progress } from '../lib';

/**
 * What the soak must undo, last made first undone, run once whether the run ends, fails or is
 * interrupted (SIGINT, SIGTERM): children stopped before their folders go, Redis last.
 */
export class Cleanup {
  readonly #steps: { what: string; undo: () => Promise<void> | void }[] = [];
  #done: Promise<void> | null = null;

  add(what: string, undo: () => Promise<void> | void): void {
    this.#steps.push({ what, undo });
  }

  run(): Promise<void> {
    this.#done ??= (async () => {
      for (const step of this.#steps.splice(0).reverse()) {
        try {
          await step.undo();
        } catch (err) {
          progress(`soak cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.#done;
  }
}

/** Stops a child with SIGTERM, and SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function spawnTs(file: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', resolve(import.meta.dirname, file)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  // A send to a child that has gone fails its own request; it must not take the soak down unhandled.
  child.on('error', (err) => progress(`${file}: ${err.message}`));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') progress(`${file} exited (${code ?? signal})`);
  });
  return child;
}

/**
 * The node under soak in its own process (plane-child.ts), so the figures are its alone. With
 * `profileDir`, it runs under `--cpu-prof` and writes its main thread's profile there when it stops.
 */
export async function startNode(
  dataDir: string,
  redisUrl: string,
  cleanup: Cleanup,
  profileDir?: string,
): Promise<{ child: ChildProcess; url: string; adminKey: string; node: string }> {
  const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child = spawnTs(
    'plane-child.ts',
    {
      PH_SOAK_DIR: dataDir,
      PH_SOAK_REDIS: redisUrl,
      PH_SOAK_SECRET: randomBytes(32).toString('hex'),
    },
    prof,
  );
  cleanup.add('the node', () => stopChild(child));
  const first = await new Promise<string>((done, fail) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      if (buffered.includes('\n')) done(buffered.split('\n')[0] as string);
    });
    child.on('exit', (code) => fail(new Error(`the node exited with ${code} before it started`)));
  });
  return { child, ...(JSON.parse(first) as { url: string; adminKey: string; node: string }) };
}

/** Event-loop delay (ms) the node measured with and without a snapshot or verify running. */
export interface LoopDelay {
  p99: number;
  max: number;
  count: number;
}

export interface NodeSample {
  rss: number;
  heapUsed: number;
  fds: number;
  breakerOpens: number;
  /** The backup's page-worker threads running (0 between snapshots, once the pool has been idle 30 s). */
  pageThreads: number;
  loop: { snapshot: LoopDelay; quiet: LoopDelay };
}

/**
 * Tells the node whether a snapshot or verify is running from now on (`snapshot`/`quiet`), so it
 * files its event-loop delay under the right window, or to forget what it measured (`reset`, at the
 * end of the warm-up). One-way: the node does not answer.
 */
export function markWindow(child: ChildProcess, window: 'snapshot' | 'quiet' | 'reset'): void {
  if (child.connected) child.send({ loop: window }, () => undefined);
}

/** The node's own figures, or an error naming how it ended when it is gone or does not answer. */
export function sampleNode(child: ChildProcess, timeoutMs = 30_000): Promise<NodeSample> {
  return new Promise((done, fail) => {
    if (!child.connected) return fail(new Error(`the node is gone (exit ${child.exitCode ?? child.signalCode ?? 'unknown'})`));
    const timer = setTimeout(() => fail(new Error(`the node did not answer a sample within ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      done(m as NodeSample);
    });
    child.send('sample', (err) => {
      if (err !== null) fail(err);
    });
  });
}

/** A child answering one IPC command with one message at a time (ws-load.ts). */
export interface CommandChild {
  request<T>(command: Record<string, unknown>): Promise<T>;
}

export async function startWsLoad(cleanup: Cleanup): Promise<CommandChild> {
  const child = spawnTs('ws-load.ts');
  cleanup.add('the WebSocket load', () => stopChild(child, 5000));
  let chain: Promise<unknown> = new Promise<void>((done, fail) => {
    child.once('message', () => done());
    child.once('exit', (code) => fail(new Error(`the WebSocket load exited with ${code}`)));
  });
  await chain;
  return {
    // One command at a time: each answer is the next message.
    request<T>(command: Record<string, unknown>): Promise<T> {
      const next = chain.then(
        () =>
          new Promise<T>((done, fail) => {
            if (!child.connected) return fail(new Error('the WebSocket load is gone'));
            child.once('message', (m: { error?: string }) => (m.error !== undefined ? fail(new Error(m.error)) : done(m as T)));
            child.send(command, (err) => {
              if (err !== null) fail(err);
            });
          }),
      );
      chain = next.catch(() => undefined);
      return next;
    },
  };
}
