// The one error type of the provider boundary. Its code says how the caller should react;
// the gRPC layer maps it to a status code and the client to an exit code.

export type ProviderErrorCode =
  /** The request is wrong and will stay wrong (bad count, machine not ours). */
  | "invalid-argument"
  /** Something named does not exist (template). */
  | "not-found"
  /** The template has not enough machines left. */
  | "resource-exhausted"
  /** The sidecar cannot serve this yet or at all (no valid templates, caches not synced). */
  | "failed-precondition"
  /** Trouble that retrying later may cure (Kubernetes API unreachable). */
  | "unavailable";

export class ProviderError extends Error {
  override name = "ProviderError";
  readonly code: ProviderErrorCode;

  constructor(code: ProviderErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
