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
  | "unavailable"
  /** The call was cancelled or ran past its deadline: nothing it did is kept. */
  | "cancelled";

export class ProviderError extends Error {
  override name = "ProviderError";
  readonly code: ProviderErrorCode;

  constructor(code: ProviderErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Longest piece of a caller's input a message repeats. */
export const MAX_ECHO_CHARS = 64;
/** Most items of a caller's list a message names. */
export const MAX_ECHO_ITEMS = 10;

/** `value` as a message may repeat it: cut to a readable length. */
export function excerpt(value: string): string {
  return value.length <= MAX_ECHO_CHARS ? value : `${value.slice(0, MAX_ECHO_CHARS - 1)}…`;
}

/** The first few of `values`, excerpted, and how many more there are. */
export function listExcerpt(values: string[]): string {
  const shown = values.slice(0, MAX_ECHO_ITEMS).map(excerpt).join(", ");
  const more = values.length - MAX_ECHO_ITEMS;
  return more > 0 ? `${shown} and ${more} more` : shown;
}
