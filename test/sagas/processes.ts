import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

const nodeModules = resolve(import.meta.dirname, '../../node_modules');

/** A script bundled once into plain JavaScript, so each start costs Node's start-up and not a TypeScript transform. */
export function bundleScript(entry: string): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ph-saga-process-'));
  const file = join(dir, `${basename(entry, '.ts')}.cjs`);
  buildSync({
    entryPoints: [join(import.meta.dirname, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: file,
    // Native, or loading files of their own at run time: taken from node_modules as they are.
    external: ['better-sqlite3', 'bullmq', 'ioredis', 'sodium-native'],
    logLevel: 'error',
  });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Child {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

/** Forks the bundled script and waits for its first IPC message (it sends one when it has started). */
export async function startProcess(script: string, args: readonly string[]): Promise<Child> {
  const child = fork(script, [...args], {
    execArgv: [],
    env: { ...process.env, NODE_PATH: nodeModules },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise<void>((ready, fail) => {
    child.once('message', () => ready());
    child.once('exit', (code, signal) => fail(new Error(`process exited before ready (${code ?? signal})`)));
  });
  return { child, exited };
}

/** SIGKILL: the process gets no chance to tidy up. */
export async function killHard(p: Child): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}
