/**
 * A change a client of the real-time socket (`/ws`) notices. The socket has no versions (every
 * client speaks the one protocol, docs/realtime-protocol.md), so its changes are listed by date in
 * docs/api-changelog.md rather than served per version.
 */
export interface SocketChange {
  /** Stable, kebab-case: the changelog anchors on it. */
  readonly id: string;
  /** When it shipped (YYYY-MM-DD). */
  readonly date: string;
  /** One line: what a client sees change, and what to do about it. */
  readonly changelog: string;
}

/** Newest first. */
export const socketChanges: readonly SocketChange[] = [
  {
    id: 'presence-update',
    date: '2026-12-05',
    changelog:
      'A presence frame may have `action: "update"`: the member stays, and the metadata a presence list shows for them is now `meta` (the node whose metadata it showed let them go while another holds them); a list shows the metadata of the node that took the user in first, where it showed any node\'s.',
  },
  {
    id: 'connection-cap-closes-1013',
    date: '2026-12-05',
    changelog:
      "A connection one over its key's `maxConnectionsPerKey` gets its `PH_REALTIME_TOO_MANY_CONNECTIONS` error frame and close **1013** (try again later), where it was closed with 1008, the code that says not to retry a credential: retry it with backoff.",
  },
  {
    id: 'presence-meta-cap',
    date: '2026-12-05',
    changelog:
      'A `subscribe` whose `presence` metadata takes more than 1 KiB as JSON is refused with `PH_INVALID_INPUT` (field `presence`); `subscribe` and `presence` replies list at most 200 members and count them all in the new `membersTotal`.',
  },
];
