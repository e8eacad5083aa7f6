/** The console's CSP, sent as a header for every response the window loads (and as a meta tag in index.html). */
export function contentSecurityPolicy(devServerOrigin: string | null): string {
  const connect = devServerOrigin === null ? "'self'" : `'self' ${devServerOrigin} ${devServerOrigin.replace(/^http/, 'ws')}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
