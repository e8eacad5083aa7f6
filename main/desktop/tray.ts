import { Menu, Tray, nativeImage } from 'electron';
import type { SystemStatus } from '../system';

// A 16×16 template icon drawn in code, so the shell ships no binary asset it would have to locate.
const ICON =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAQElEQVR4nGNgoBH4jwNTpJkoQwhpxmsIsZqxGkKMLXjV4JLAxSfKAGLFaGcARV4gORBxKaBZWsALKNJMyBDqAwB0qod5wAPlCwAAAABJRU5ErkJggg==';

/** A tray icon whose tooltip and menu say how the services are, with Show and Quit. */
export function createTray(options: { status: () => SystemStatus; show: () => void; quit: () => void }): {
  refresh: () => void;
  destroy: () => void;
} {
  const tray = new Tray(nativeImage.createFromDataURL(ICON));
  const refresh = (): void => {
    const status = options.status();
    const down = status.services.filter((s) => s.state !== 'running');
    const summary =
      down.length === 0 ? 'All services running' : `${down.length} service(s) need attention: ${down.map((s) => s.name).join(', ')}`;
    tray.setToolTip(`Pilothouse ${status.version}: ${summary}`);
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: summary, enabled: false },
        { type: 'separator' },
        { label: 'Show Pilothouse', click: options.show },
        { label: 'Quit', click: options.quit },
      ]),
    );
  };
  refresh();
  tray.on('click', options.show);
  return { refresh, destroy: () => tray.destroy() };
}
