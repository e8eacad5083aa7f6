export { registerBackupRootPicker } from './backup-root-picker';
export { registerConsoleScheme, serveConsole } from './console-protocol';
export { consoleLocation } from './console-source';
export { contentSecurityPolicy } from './content-security-policy';
export { EXTERNAL_ORIGINS } from './external-links';
export { registerIpcBridge } from './ipc-bridge';
export { createMainWindow } from './main-window';
export { createTray } from './tray';
export { isTrustedConsoleUrl } from './trusted-url';
