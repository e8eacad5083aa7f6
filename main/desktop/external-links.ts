/** Where links from the console may go in the system browser, beside this node's own server. */
export const EXTERNAL_ORIGINS: readonly string[] = ['https://github.com'];

/**
 * The URL to hand `shell.openExternal`, or null. Only http(s), no credentials, and only an origin
 * on the allow-list: openExternal starts whatever handles a scheme (file:, smb:, custom app links),
 * so a link the console renders from stored data must never reach it unchecked.
 */
export function allowedExternalUrl(candidate: string, allowedOrigins: readonly string[]): string | null {
  if (!URL.canParse(candidate)) return null;
  const url = new URL(candidate);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '') return null;
  const allowed = allowedOrigins.some((origin) => URL.canParse(origin) && new URL(origin).origin === url.origin);
  return allowed ? url.toString() : null;
}
