import {
  createWatchConnection,
  type WatchConnection,
  type WatchConnectionOptions,
  type WatchStats,
} from "./watch-connection.ts";

/** What a new watch needs beyond what every watch shares. */
export type WatchRequest = Omit<WatchConnectionOptions, "id" | "stalled" | "stats" | "onClose">;

/** The watches the API server holds open, numbered, counted and acted on together by faults. */
export interface OpenWatches {
  /** Rendering done by all watches so far. */
  readonly stats: Readonly<WatchStats>;
  /** Opens a watch; `onClose` runs once it is forgotten, however it ends. */
  open(request: WatchRequest, onClose: () => void): WatchConnection;
  /** Open watches, of one resource or all. */
  count(resource?: string): number;
  end(how: "close" | "reset", resource?: string): number;
  /** Stalls or resumes the open watches, and those opened from now on. */
  setStalled(stalled: boolean): void;
}

export function createOpenWatches(): OpenWatches {
  const watches = new Set<WatchConnection>();
  const stats: WatchStats = { rendered: 0, delivered: 0 };
  let stalled = false;
  let nextId = 1;
  return {
    stats,
    open(request, onClose) {
      const connection = createWatchConnection({
        ...request,
        id: nextId++,
        stalled,
        stats,
        onClose: (closed) => {
          watches.delete(closed);
          onClose();
        },
      });
      watches.add(connection);
      return connection;
    },
    count(resource) {
      let count = 0;
      for (const watch of watches)
        if (resource === undefined || watch.resource === resource) count++;
      return count;
    },
    end(how, resource) {
      let count = 0;
      for (const watch of [...watches]) {
        if (resource !== undefined && watch.resource !== resource) continue;
        if (how === "close") watch.close();
        else watch.reset();
        count++;
      }
      return count;
    },
    setStalled(next) {
      stalled = next;
      for (const watch of watches) {
        if (next) watch.stall();
        else watch.resume();
      }
    },
  };
}
