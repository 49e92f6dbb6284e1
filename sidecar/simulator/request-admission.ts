import type { ServerResponse } from "node:http";
import { type Route, resourceOf } from "./api-route.ts";
import type { Authorization } from "./authorization.ts";
import type { Counters } from "./counters.ts";
import type { Faults } from "./faults.ts";

export interface RequestAdmissionContext {
  counters: Counters;
  authorization: Authorization;
  /** Set once the faults exist (they need the server to act on). */
  faults: () => Faults | undefined;
}

/**
 * What a resource request goes through before it is served: counted (and its answer counted),
 * authorized, then failed or delayed as the faults in force decide. Throws to refuse; returns a
 * promise only for a delayed request, so that others are served in the same turn as before.
 */
export function admitRequest(
  context: RequestAdmissionContext,
  route: Route,
  verb: string,
  response: ServerResponse,
): Promise<void> | undefined {
  const { counters } = context;
  const resource = resourceOf(route);
  counters.count(verb, resource);
  response.once("finish", () => counters.countAnswer(verb, resource, response.statusCode));
  context.authorization.check({
    verb,
    group: route.info.group,
    resource,
    namespace: route.namespace ?? "",
    name: route.name ?? "",
  });
  const decision = context.faults()?.decide(verb, resource);
  if (decision && decision.delayMs > 0) {
    return new Promise<void>((resolve) => setTimeout(resolve, decision.delayMs)).then(() => {
      if (decision.error) throw decision.error;
    });
  }
  if (decision?.error) throw decision.error;
  return undefined;
}
