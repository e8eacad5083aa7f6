import WebSocket from 'ws';

/**
 * A `ws` class for RealtimeClient that remembers each open socket in `live`, so a load generator can
 * cut connections from outside the client (churn, chaos) and watch it reconnect and resume.
 */
export function trackedWebSocket(): { TrackedWebSocket: typeof WebSocket; live: Set<WebSocket> } {
  const live = new Set<WebSocket>();
  class TrackedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: false });
      live.add(this);
      this.on('close', () => live.delete(this));
    }
  }
  return { TrackedWebSocket: TrackedWebSocket as typeof WebSocket, live };
}
