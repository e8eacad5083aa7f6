/**
 * Whether `candidate` is the console itself: same origin as the dev server, or the same built
 * `index.html` file. URLs are parsed and compared by part, never matched by prefix, so
 * `file:///app/index.html.evil` or `http://localhost:5173@evil` do not pass.
 */
export function isTrustedConsoleUrl(candidate: string, consoleUrl: string): boolean {
  let a: URL;
  let b: URL;
  try {
    a = new URL(candidate);
    b = new URL(consoleUrl);
  } catch {
    return false;
  }
  if (b.protocol === 'file:') return a.protocol === 'file:' && a.host === '' && a.pathname === b.pathname;
  // The console's own scheme (app://console): the same scheme and host, whatever the path.
  if (b.protocol === 'app:') return a.protocol === 'app:' && a.host === b.host && a.username === '' && a.password === '';
  if (b.protocol !== 'http:' && b.protocol !== 'https:') return false;
  return a.protocol === b.protocol && a.host === b.host && a.username === '' && a.password === '';
}
