import { startBenchPlane } from '../bench-plane';

/**
 * Child process for the discovery bench: one headless Pilothouse on 127.0.0.1, port 0, in a fresh
 * data dir, so the parent can measure its CPU from /proc alone. Prints `{url, adminKey}`.
 */
void startBenchPlane('discovery').then(({ url, adminKey }) => process.stdout.write(`${JSON.stringify({ url, adminKey })}\n`));
