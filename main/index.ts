import { join } from 'node:path';
import { Notification, app, dialog, ipcMain, type BrowserWindow } from 'electron';
import { loadConfig, defaultConfig } from './config';
import { ControlPlane } from './control-plane';
import {
  consoleLocation,
  contentSecurityPolicy,
  createMainWindow,
  createTray,
  EXTERNAL_ORIGINS,
  isTrustedConsoleUrl,
  registerBackupRootPicker,
  registerConsoleScheme,
  registerIpcBridge,
  serveConsole,
} from './desktop';
import { notifyAlerts } from './monitoring';

/**
 * The desktop shell: single-instance lock, one window, a tray, IPC wiring. Everything else lives in
 * the control plane, which the tests reach in plain Node (Electron cannot be launched on the build
 * machines).
 */
registerConsoleScheme();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  let plane: ControlPlane | null = null;
  let quitting = false;

  const showWindow = (): void => {
    if (window === null) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };
  app.on('second-instance', showWindow);

  app
    .whenReady()
    .then(async () => {
      const loaded = loadConfig({
        argv: process.argv.slice(app.isPackaged ? 1 : 2),
        env: process.env,
        defaults: defaultConfig(app.getPath('userData')),
      });
      plane = new ControlPlane(loaded, { mode: 'desktop' });
      await plane.start();
      const running = plane.running;
      const location = consoleLocation({ isPackaged: app.isPackaged, devUrl: process.env.ELECTRON_RENDERER_URL });
      if (location.devOrigin === null) serveConsole(join(__dirname, '../renderer'), contentSecurityPolicy(null));
      const created = createMainWindow(join(__dirname, '../preload'), location, [...EXTERNAL_ORIGINS, plane.url]);
      window = created.window;
      registerIpcBridge({
        ipcMain,
        dispatcher: running.dispatcher,
        // The console's live updates ride the real-time hub, as they do for a browser on /ws.
        events: { subscribe: (listener) => running.realtime.subscribeEvents(listener) },
        isTrustedSender: (url) => isTrustedConsoleUrl(url, created.consoleUrl),
        target: () => (window === null || window.isDestroyed() ? null : window.webContents),
      });
      registerBackupRootPicker({
        ipcMain,
        isTrustedSender: (url) => isTrustedConsoleUrl(url, created.consoleUrl),
        chooseFolder: async () => {
          const picked = await dialog.showOpenDialog(created.window, { properties: ['openDirectory', 'createDirectory'] });
          return picked.canceled ? null : (picked.filePaths[0] ?? null);
        },
        addRoot: (path) => running.pickedRoots.add(path),
        audit: (record) => running.audit.append(record),
      });
      const tray = createTray({ status: () => (plane as ControlPlane).status(), show: showWindow, quit: () => app.quit() });
      running.bus.subscribe((message) => {
        if (message.event === 'system.status') tray.refresh();
      });
      notifyAlerts(running.bus, (title, body) => new Notification({ title, body }).show());
      window.on('close', (event) => {
        // Closing the window keeps the services running in the tray; Quit stops them.
        if (!quitting) {
          event.preventDefault();
          window?.hide();
        }
      });
    })
    .catch((err: unknown) => {
      process.stderr.write(`Pilothouse failed to start: ${(err as Error).message}\n`);
      app.exit(1);
    });

  app.on('before-quit', (event) => {
    if (quitting || plane === null) return;
    quitting = true;
    event.preventDefault();
    void plane.stop().finally(() => app.quit());
  });
}
