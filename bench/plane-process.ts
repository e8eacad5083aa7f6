import type { ChildProcess } from 'node:child_process';
import { startChild } from './child-line';

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
  const { line, proc } = await startChild(childFile);
  return { ...(JSON.parse(line) as { url: string; adminKey: string }), proc };
}
