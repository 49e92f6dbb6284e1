// The counters a list-watch cache keeps of its lists, watches and waits, for metrics and the admin
// service to tell a cache that keeps up from one that struggles.

export interface ListWatchStats {
  /** Completed lists, the first included. */
  lists: number;
  /** Completed lists after the first (410 or a failed watch start that needed one). */
  relists: number;
  /** How long the last completed list took, every page and its wait for the rate limiter. */
  lastListMs: number;
  /** Waits after an error or before a relist, their total, and the last one, in ms. */
  backoffs: number;
  backoffMs: number;
  lastBackoffMs: number;
  /** Watches resumed from a resourceVersion after the previous one ended, failed or stalled. */
  watchRestarts: number;
  /** Watches the inactivity watchdog aborted. */
  stalls: number;
  /** ADDED/MODIFIED/DELETED events received from watches. */
  events: number;
  /** Epoch ms of the last thing a watch delivered (bookmarks included); 0 before any. */
  lastEventAt: number;
  /**
   * The last error met, while the cache may be behind because of it: cleared by a successful
   * list, or by a watch resumed after it that has held (delivered an event, or stayed open
   * `SHORT_WATCH_MS` of watch-stream.ts without an error).
   */
  lastError: string | undefined;
}

export function emptyListWatchStats(): ListWatchStats {
  return {
    lists: 0,
    relists: 0,
    lastListMs: 0,
    backoffs: 0,
    backoffMs: 0,
    lastBackoffMs: 0,
    watchRestarts: 0,
    stalls: 0,
    events: 0,
    lastEventAt: 0,
    lastError: undefined,
  };
}
