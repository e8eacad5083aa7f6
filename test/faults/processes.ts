import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

/** A second program holding a SQLite database open (test/faults/fixtures/sqlite-holder.mjs). */
export interface Holder {
  readonly pid: number;
  /** Commits one row in the holder's process and resolves with its id. */
  write(): Promise<number>;
  stop(): Promise<void>;
}

export async function startHolder(path: string, mode: 'wal' | 'delete'): Promise<Holder> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'fixtures', 'sqlite-holder.mjs'), path, mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = await next();
  if (ready !== 'ready') throw new Error(`holder said ${ready}`);
  return {
    pid: child.pid as number,
    async write() {
      const answer = next();
      child.stdin!.write('write\n');
      return Number((await answer).split(' ')[1]);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}
