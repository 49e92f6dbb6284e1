/** Requests the API server answered, by verb (get, list, watch, create, ...) and resource. */
export interface Counters {
  /** Requests of `verb`, for one resource ("pods", "pods/status") or all. */
  get(verb: string, resource?: string): number;
  /** Every request counted so far. */
  total(): number;
  /** { verb: { resource: count } }. */
  snapshot(): Record<string, Record<string, number>>;
  reset(): void;
  /** Called by the HTTP layer once per request. */
  count(verb: string, resource: string): void;
}

export function createCounters(): Counters {
  const byVerb = new Map<string, Map<string, number>>();
  return {
    get(verb, resource) {
      const resources = byVerb.get(verb);
      if (!resources) return 0;
      if (resource !== undefined) return resources.get(resource) ?? 0;
      let sum = 0;
      for (const value of resources.values()) sum += value;
      return sum;
    },
    total() {
      let sum = 0;
      for (const resources of byVerb.values()) for (const value of resources.values()) sum += value;
      return sum;
    },
    snapshot() {
      const result: Record<string, Record<string, number>> = {};
      for (const [verb, resources] of byVerb) result[verb] = Object.fromEntries(resources);
      return result;
    },
    reset() {
      byVerb.clear();
    },
    count(verb, resource) {
      let resources = byVerb.get(verb);
      if (!resources) {
        resources = new Map();
        byVerb.set(verb, resources);
      }
      resources.set(resource, (resources.get(resource) ?? 0) + 1);
    },
  };
}
