/**
 * Delayed actions of the simulated controllers (a pod starting after its start delay, a graceful
 * deletion completing), kept by key so that a newer plan for the same thing replaces the older
 * one, and so that tests can run everything that is due, or everything pending, at once.
 */
export interface Timeline {
  /** Runs `action` after `delayMs`, replacing whatever was planned under `key`. */
  schedule(key: string, delayMs: number, action: () => void): void;
  cancel(key: string): void;
  has(key: string): boolean;
  /** How many actions are waiting (whose key starts with `prefix`, if given). */
  pending(prefix?: string): number;
  /** Runs every pending action now, earliest first, including ones planned while running. */
  flush(): void;
  /** Cancels everything. */
  clear(): void;
}

interface Planned {
  dueAt: number;
  action: () => void;
  timer: NodeJS.Timeout;
}

/** flush() stops after this many rounds, in case actions keep planning new ones forever. */
const MAX_FLUSH_ROUNDS = 100;

export function createTimeline(): Timeline {
  const planned = new Map<string, Planned>();

  const run = (key: string) => {
    const entry = planned.get(key);
    if (!entry) return;
    planned.delete(key);
    clearTimeout(entry.timer);
    entry.action();
  };

  return {
    schedule(key, delayMs, action) {
      const previous = planned.get(key);
      if (previous) clearTimeout(previous.timer);
      const delay = Math.max(0, delayMs);
      const timer = setTimeout(() => run(key), delay);
      timer.unref();
      planned.set(key, { dueAt: performance.now() + delay, action, timer });
    },
    cancel(key) {
      const entry = planned.get(key);
      if (entry) clearTimeout(entry.timer);
      planned.delete(key);
    },
    has(key) {
      return planned.has(key);
    },
    pending(prefix) {
      if (prefix === undefined) return planned.size;
      let count = 0;
      for (const key of planned.keys()) if (key.startsWith(prefix)) count++;
      return count;
    },
    flush() {
      for (let round = 0; round < MAX_FLUSH_ROUNDS && planned.size > 0; round++) {
        const due = [...planned.entries()].sort(([, a], [, b]) => a.dueAt - b.dueAt);
        for (const [key] of due) run(key);
      }
    },
    clear() {
      for (const entry of planned.values()) clearTimeout(entry.timer);
      planned.clear();
    },
  };
}
