/** Requests the API server answered, by verb (get, list, watch, create, ...) and resource. */
export interface Counters {
  /** Requests of `verb`, for one resource ("pods", "pods/status") or all. */
  get(verb: string, resource?: string): number;
  /** Requests of `verb` on `resource` answered with HTTP status `code` (201: created). */
  answered(verb: string, resource: string, code: number): number;
  /** Every request counted so far. */
  total(): number;
  /** { verb: { resource: count } }. */
  snapshot(): Record<string, Record<string, number>>;
  reset(): void;
  /** Called by the HTTP layer once per request. */
  count(verb: string, resource: string): void;
  /** Called by the HTTP layer once per answered request, with its status code. */
  countAnswer(verb: string, resource: string, code: number): void;
}

export function createCounters(): Counters {
  const byVerb = new Map<string, Map<string, number>>();
  const answers = new Map<string, number>();
  const answerKey = (verb: string, resource: string, code: number) => `${verb} ${resource} ${code}`;
  return {
    get(verb, resource) {
      const resources = byVerb.get(verb);
      if (!resources) return 0;
      if (resource !== undefined) return resources.get(resource) ?? 0;
      let sum = 0;
      for (const value of resources.values()) sum += value;
      return sum;
    },
    answered(verb, resource, code) {
      return answers.get(answerKey(verb, resource, code)) ?? 0;
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
      answers.clear();
    },
    count(verb, resource) {
      let resources = byVerb.get(verb);
      if (!resources) {
        resources = new Map();
        byVerb.set(verb, resources);
      }
      resources.set(resource, (resources.get(resource) ?? 0) + 1);
    },
    countAnswer(verb, resource, code) {
      const k = answerKey(verb, resource, code);
      answers.set(k, (answers.get(k) ?? 0) + 1);
    },
  };
}
