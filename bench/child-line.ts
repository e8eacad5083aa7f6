import { spawn, type ChildProcess } from 'node:child_process';
import { serverCommand } from './pinning';

/**
 * Starts a bench child (`file`, run with tsx) and resolves with the first line it prints, which it
 * prints once ready (a port, or a JSON line); rejects if it exits first. A `pinned` child (a server
 * whose figures are compared) runs on the server core (pinning.ts).
 */
export async function startChild(
  file: string,
  args: readonly string[] = [],
  pinned = false,
): Promise<{ line: string; proc: ChildProcess }> {
  const nodeArgs = ['--import', 'tsx', file, ...args];
  const { command, args: commandArgs } = pinned ? serverCommand(nodeArgs) : { command: process.execPath, args: nodeArgs };
  const proc = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    proc.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return { line, proc };
}
