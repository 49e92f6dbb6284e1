// Per-call options that tie a client-node request to an AbortSignal, so a hung request can be given
// up (a lease renewal past its deadline, a list page during shutdown) instead of holding on until
// undici's five-minute timeouts.

import type {
  ConfigurationOptions,
  PromiseConfigurationOptions,
  RequestContext,
} from "@kubernetes/client-node";

/**
 * Options for the second parameter of any client-node API method. client-node 2.0.1 runs
 * call-time middleware as promise middleware but declares the parameter with the Observable
 * middleware type, hence the one cast.
 */
export function abortOptions(signal: AbortSignal): ConfigurationOptions {
  const options: PromiseConfigurationOptions = {
    middleware: [
      {
        pre: async (context: RequestContext) => {
          context.setSignal(signal);
          return context;
        },
        post: async (response) => response,
      },
    ],
    middlewareMergeStrategy: "append",
  };
  return options as unknown as ConfigurationOptions;
}
