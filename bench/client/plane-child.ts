import { startBenchPlane } from '../bench-plane';

/**
 * Child process for the client bench: one headless Pilothouse on 127.0.0.1, port 0, in a fresh data
 * dir, so the server's work does not share the measuring process's event loop. Prints
 * `{url, adminKey}` once started; stops on SIGTERM.
 */
void startBenchPlane('client').then(({ url, adminKey }) => process.stdout.write(`${JSON.stringify({ url, adminKey })}\n`));
