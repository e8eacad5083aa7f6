import { spawn, type ChildProcess } from 'node:child_process';

export interface PlaneProcess {
  readonly url: string;
  readonly adminKey: string;
  readonly proc: ChildProcess;
}

/**
 * Starts a suite's control-plane child (`childFile`, run with tsx), which prints one JSON line
 * `{url, adminKey}` once it is ready: the load generator never shares the plane's event loop.
 */
export async function startPlaneProcess(childFile: string): Promise<PlaneProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', childFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<{ url: string; adminKey: string }>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string) as { url: string; adminKey: string });
    });
    proc.once('exit', (code) => reject(new Error(`${childFile} exited with ${code}`)));
  });
  return { ...ready, proc };
}
