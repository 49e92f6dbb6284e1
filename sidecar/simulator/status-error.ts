import type { Status } from "./object-types.ts";

export interface FieldCause {
  /** The API's cause type, e.g. "FieldValueRequired", "FieldValueInvalid". */
  reason: string;
  /** The JSON path of the field, e.g. "spec.containers". */
  field: string;
  /** The human part, e.g. "Required value". */
  message: string;
}

/**
 * An API error that the HTTP layer turns into a Status body with the same code, reason and
 * message the real API server uses. Thrown by the store and the REST layer whenever a request
 * must be refused.
 */
export class StatusError extends Error {
  readonly status: Status;
  /** Extra response headers, e.g. Retry-After for 429. */
  readonly headers: Record<string, string>;
  /**
   * The body, where the API server answers in plain text instead of a Status (its priority and
   * fairness filter does); undefined: the Status as JSON.
   */
  readonly plainText: string | undefined;

  constructor(
    status: Status,
    headers: Record<string, string> = {},
    options?: ErrorOptions & { plainText?: string },
  ) {
    super(status.message, options);
    this.name = "StatusError";
    this.status = status;
    this.headers = headers;
    this.plainText = options?.plainText;
  }

  get code(): number {
    return this.status.code;
  }
}

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: Status["details"],
): Status {
  // Field order as the API server writes it, details before code.
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** `qualified` is "pods" or "leases.coordination.k8s.io", as the API server prints it. */
export function notFound(qualified: string, name: string, group = ""): StatusError {
  return new StatusError(
    failure(404, "NotFound", `${qualified} "${name}" not found`, {
      name,
      ...(group ? { group } : {}),
      kind: qualified.split(".")[0],
    }),
  );
}

export function alreadyExists(qualified: string, name: string, group = ""): StatusError {
  return new StatusError(
    failure(409, "AlreadyExists", `${qualified} "${name}" already exists`, {
      name,
      ...(group ? { group } : {}),
      kind: qualified.split(".")[0],
    }),
  );
}

export function conflict(qualified: string, name: string, why: string, group = ""): StatusError {
  return new StatusError(
    failure(409, "Conflict", `Operation cannot be fulfilled on ${qualified} "${name}": ${why}`, {
      name,
      ...(group ? { group } : {}),
      kind: qualified.split(".")[0],
    }),
  );
}

export const STALE_OBJECT_MESSAGE =
  "the object has been modified; please apply your changes to the latest version and try again";

/** 422 for a create or update that breaks validation; `kind` is the object kind ("Pod"). */
export function invalid(kind: string, name: string, causes: FieldCause[], group = ""): StatusError {
  const parts = causes.map((cause) => `${cause.field}: ${cause.message}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  return new StatusError(
    failure(422, "Invalid", `${kind} "${name}" is invalid: ${summary}`, {
      name,
      ...(group ? { group } : {}),
      kind,
      causes: causes.map((cause) => ({
        reason: cause.reason,
        message: cause.message,
        field: cause.field,
      })),
    }),
  );
}

export function badRequest(message: string): StatusError {
  return new StatusError(failure(400, "BadRequest", message));
}

export function forbidden(message: string, details?: Status["details"]): StatusError {
  return new StatusError(failure(403, "Forbidden", message, details));
}

/** The API server's 405, for a verb a resource (or subresource) does not serve. */
export function methodNotAllowed(): StatusError {
  return new StatusError(
    failure(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
    ),
  );
}

export function gone(message: string): StatusError {
  return new StatusError(failure(410, "Expired", message));
}

/** `hint`, when given, says what to do instead; it follows the API server's own wording. */
export function unsupportedMediaType(
  contentType: string,
  accepted: string[],
  hint?: string,
): StatusError {
  const supported = `${contentType} is unsupported media type, supported types: [${accepted.join(", ")}]`;
  return new StatusError(
    failure(415, "UnsupportedMediaType", hint ? `${supported} (${hint})` : supported),
  );
}

export function tooManyRequests(message: string, retryAfterSeconds: number): StatusError {
  return new StatusError(failure(429, "TooManyRequests", message, { retryAfterSeconds }), {
    "Retry-After": String(retryAfterSeconds),
  });
}

/** What kube-apiserver's priority and fairness filter answers a request it rejects. */
export const PRIORITY_AND_FAIRNESS_REJECTION = "Too many requests, please try again later.";

/**
 * A request over its priority level's concurrency, refused as the API server's API priority and
 * fairness filter refuses it: 429 with Retry-After and a plain-text body, not a Status.
 */
export function priorityAndFairnessRejection(retryAfterSeconds: number): StatusError {
  return new StatusError(
    failure(429, "TooManyRequests", PRIORITY_AND_FAIRNESS_REJECTION, { retryAfterSeconds }),
    { "Retry-After": String(retryAfterSeconds) },
    { plainText: `${PRIORITY_AND_FAIRNESS_REJECTION}\n` },
  );
}

export function internalError(message: string): StatusError {
  return new StatusError(
    failure(500, "InternalError", `Internal error occurred: ${message}`, {
      causes: [{ message }],
    }),
  );
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError(failure(503, "ServiceUnavailable", message));
}

/** The body of a 404 for a URL no route serves. */
export function pathNotFound(): StatusError {
  return new StatusError(
    failure(404, "NotFound", "the server could not find the requested resource", {}),
  );
}

/** An error with an arbitrary code, as injected by faults: the reason follows the code. */
export function statusForCode(code: number, message: string): StatusError {
  switch (code) {
    case 429:
      return tooManyRequests(message, 1);
    case 500:
      return internalError(message);
    case 503:
      return serviceUnavailable(message);
    case 504:
      return new StatusError(failure(504, "Timeout", message));
    default:
      return new StatusError(failure(code, "Unknown", message));
  }
}
