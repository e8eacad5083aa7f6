export { registerIpcBridge } from './ipc-bridge';
export { createMainWindow } from './main-window';
export { createTray } from './tray';
export { isTrustedConsoleUrl } from './trusted-url';
