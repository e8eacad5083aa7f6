import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { CONSOLE_SCHEME, consoleFile } from './console-source';

/** Must run before the app is ready: `app://` becomes a standard, secure origin (so 'self' and fetch work). */
export function registerConsoleScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: CONSOLE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/**
 * Serves the built console at `app://console/` from `rendererDir` only (see `consoleFile`), with
 * its CSP on every answer. Unlike `file://`, the page gets an origin of its own that no other file
 * on the disk shares.
 */
export function serveConsole(rendererDir: string, csp: string): void {
  protocol.handle(CONSOLE_SCHEME, async (request) => {
    const file = consoleFile(request.url, rendererDir);
    if (file === null) return new Response('Not found', { status: 404 });
    try {
      const body = await readFile(file.path);
      return new Response(body, {
        headers: { 'content-type': file.mime, 'content-security-policy': csp, 'x-content-type-options': 'nosniff' },
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}
