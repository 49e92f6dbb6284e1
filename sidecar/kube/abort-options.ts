// Per-call options that tie a client-node request to an AbortSignal, so a hung request can be given
// up (a lease renewal past its deadline, a list page during shutdown) instead of holding on until
// undici's five-minute timeouts.

import {
  type ConfigurationOptions,
  Observable,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";

/** Options for the second parameter of any client-node API method (object-parameter style). */
export function abortOptions(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
