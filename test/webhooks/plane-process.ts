import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** A control plane in its own process (plane-child.ts), on `redisUrl` when given, so a test can kill -9 it. */
export function startPlaneProcess(dataDir: string, redisUrl?: string): Promise<{ child: ChildProcess; url: string }> {
  const args = [join(import.meta.dirname, 'plane-child.ts'), dataDir, ...(redisUrl === undefined ? [] : [redisUrl])];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`plane child exited with ${code}`)));
  });
}

/** POSTs to `/api/v2/ops/<name>` on a plane process with `key`, returning the parsed answer. */
export async function opOn(url: string, key: string, name: string, input: unknown = {}): Promise<any> {
  const res = await fetch(`${url}/api/v2/ops/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(input),
  });
  return res.json();
}
