import { extname, join, relative, resolve, isAbsolute, sep } from 'node:path';

/** The built console is served from this privileged custom scheme, never from `file://`. */
export const CONSOLE_SCHEME = 'app';
export const CONSOLE_HOST = 'console';
export const CONSOLE_ORIGIN = `${CONSOLE_SCHEME}://${CONSOLE_HOST}`;

/**
 * Where the window loads the console from. A dev server named by `ELECTRON_RENDERER_URL` is used
 * only in an unpackaged build (electron-vite dev) and only on loopback: in a shipped app whoever
 * sets that variable would otherwise choose the page that gets the admin IPC bridge.
 */
export function consoleLocation(options: { isPackaged: boolean; devUrl: string | undefined }): { url: string; devOrigin: string | null } {
  const dev = options.isPackaged ? null : loopbackHttpUrl(options.devUrl);
  if (dev !== null) return { url: dev.toString(), devOrigin: dev.origin };
  return { url: `${CONSOLE_ORIGIN}/index.html`, devOrigin: null };
}

function loopbackHttpUrl(text: string | undefined): URL | null {
  if (text === undefined || !URL.canParse(text)) return null;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '') return null;
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) ? url : null;
}

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * The file under the built console folder that an `app://console/...` request names, with its
 * type, or null: another scheme or host, a path that leaves the folder (`..`, encoded or not, or
 * an absolute path smuggled in), or a type the console does not ship.
 */
export function consoleFile(requestUrl: string, rendererDir: string): { path: string; mime: string } | null {
  if (!URL.canParse(requestUrl)) return null;
  const url = new URL(requestUrl);
  if (url.protocol !== `${CONSOLE_SCHEME}:` || url.host !== CONSOLE_HOST || url.username !== '' || url.password !== '') return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const wanted = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = resolve(rendererDir);
  const path = resolve(join(root, wanted));
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  const mime = MIME[extname(path).toLowerCase()];
  return mime === undefined ? null : { path, mime };
}
