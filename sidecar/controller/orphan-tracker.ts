// Orphan pods: pods that carry this instance's labels but belong to no request it knows (the
// record was deleted by hand, or an older install left the pod). Each is reported once, when
// first seen, and may be deleted only once it has been seen orphaned for a grace period without a
// break. The period is counted from this replica's own first sighting (kept in memory, so it
// starts again after a failover), and a pod that stops being an orphan starts it over.

export interface OrphanSightings {
  /** Orphans seen for the first time: to report. */
  found: string[];
  /** Orphans seen unbroken for at least the grace period (never one just found), in the order
   * given. */
  due: string[];
}

export interface OrphanTracker {
  /**
   * Takes the orphans a look at every pod found at `at` (epoch milliseconds). A pod missing from
   * `orphans` is no longer tracked: if it is seen orphaned again, its grace starts over.
   */
  observe(orphans: Iterable<string>, at: number): OrphanSightings;
  /** Orphans tracked now. */
  readonly size: number;
  clear(): void;
}

export function createOrphanTracker(options: { graceMs: number }): OrphanTracker {
  const { graceMs } = options;
  if (!(graceMs >= 0)) throw new RangeError(`orphan grace must not be negative, got ${graceMs}`);
  /** Orphan pod name → when it was first seen orphaned. */
  const since = new Map<string, number>();
  return {
    observe(orphans, at) {
      const current = new Set(orphans);
      for (const name of since.keys()) if (!current.has(name)) since.delete(name);
      const sightings: OrphanSightings = { found: [], due: [] };
      for (const name of current) {
        const first = since.get(name);
        if (first === undefined) {
          since.set(name, at);
          sightings.found.push(name);
        } else if (at - first >= graceMs) {
          sightings.due.push(name);
        }
      }
      return sightings;
    },
    get size() {
      return since.size;
    },
    clear() {
      since.clear();
    },
  };
}
