import { join } from 'node:path';
import { BrowserWindow, session, shell } from 'electron';
import { contentSecurityPolicy } from './content-security-policy';
import { isTrustedConsoleUrl } from './trusted-url';

/**
 * The one console window, locked down per Electron's security checklist: context isolation,
 * sandbox, no Node in the renderer, a strict CSP, navigation and new windows denied (http links
 * open in the system browser), every permission request denied, no webviews.
 */
export function createMainWindow(preloadDir: string, rendererDir: string): { window: BrowserWindow; consoleUrl: string } {
  const devUrl = process.env.ELECTRON_RENDERER_URL ?? null;
  const consoleUrl = devUrl ?? `file://${join(rendererDir, 'index.html')}`;
  const csp = contentSecurityPolicy(devUrl === null ? null : new URL(devUrl).origin);

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
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (parsed !== null && (parsed.protocol === 'https:' || parsed.protocol === 'http:')) void shell.openExternal(parsed.toString());
    return { action: 'deny' };
  });
  void window.loadURL(consoleUrl);
  return { window, consoleUrl };
}
