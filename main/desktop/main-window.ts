import { join } from 'node:path';
import { BrowserWindow, session, shell } from 'electron';
import { contentSecurityPolicy } from './content-security-policy';
import { allowedExternalUrl } from './external-links';
import { isTrustedConsoleUrl } from './trusted-url';

/**
 * The one console window, locked down per Electron's security checklist: context isolation,
 * sandbox, no Node in the renderer, a strict CSP, navigation and new windows denied (links to
 * allow-listed origins open in the system browser), every permission request denied, no webviews.
 * `location` comes from `consoleLocation` (app://console, or the dev server in an unpackaged build).
 */
export function createMainWindow(
  preloadDir: string,
  location: { url: string; devOrigin: string | null },
  externalOrigins: readonly string[],
): { window: BrowserWindow; consoleUrl: string } {
  const consoleUrl = location.url;
  const csp = contentSecurityPolicy(location.devOrigin);

  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });

  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Pilothouse',
    backgroundColor: '#0f1419',
    webPreferences: {
      preload: join(preloadDir, 'index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // Middle-click opens links through a path will-navigate does not see.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  window.once('ready-to-show', () => window.show());
  window.webContents.on('will-navigate', (event, url) => {
    if (!isTrustedConsoleUrl(url, consoleUrl)) event.preventDefault();
  });
  window.webContents.on('will-redirect', (event, url) => {
    if (!isTrustedConsoleUrl(url, consoleUrl)) event.preventDefault();
  });
  window.webContents.on('will-attach-webview', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    const external = allowedExternalUrl(url, externalOrigins);
    if (external !== null) void shell.openExternal(external);
    return { action: 'deny' };
  });
  void window.loadURL(consoleUrl);
  return { window, consoleUrl };
}
