// Every failure of a Kubernetes API call, whatever shape client-node gave it (ApiException with a
// Status body, a watch's bare HTTP error, a Status object in a watch ERROR event, an undici network
// error, an abort), becomes one KubeApiError with a kind from a closed set. Callers decide on the
// kind; the message is the API server's own Status message when there is one, because that is
// what a Symphony administrator gets to read ("exceeded quota: …", "admission webhook … denied").

import { STATUS_CODES } from "node:http";
import { ApiException } from "@kubernetes/client-node";

/**
 * - `not-found`: 404, the object does not exist.
 * - `already-exists`: 409 AlreadyExists on create.
 * - `conflict`: 409 Conflict, a write raced another (stale resourceVersion): re-read and retry.
 * - `expired`: 410 Gone/Expired, a resourceVersion or continue token is too old: relist.
 * - `transient`: worth retrying as is (429, 500, 502, 503, 504, network trouble, timeouts).
 * - `permanent`: will fail again the same way (400, 401, 403, 422, anything else).
 */
export type KubeApiErrorKind =
  | "not-found"
  | "already-exists"
  | "conflict"
  | "expired"
  | "transient"
  | "permanent";

export interface KubeApiErrorDetails {
  /** HTTP status code, when the API server answered. */
  status?: number;
  /** Status `reason` (`Forbidden`, `AlreadyExists`, `Expired`, …) or a network error code. */
  reason?: string;
  /** How long the server asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Thrown (or returned by {@link toKubeApiError}) for any failed Kubernetes API call. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  readonly kind: KubeApiErrorKind;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(kind: KubeApiErrorKind, message: string, details: KubeApiErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    this.reason = details.reason;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** 408 too: an HTTP server or proxy that did not get the whole request in time sends it. */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_REASONS = new Set(["TooManyRequests", "ServerTimeout", "Timeout"]);
/** TLS and certificate failures: retrying cannot fix a wrong CA or an expired certificate. */
const PERMANENT_NETWORK_CODE = /CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY/;
const MAX_BODY_MESSAGE_CHARS = 500;

interface StatusBody {
  kind?: unknown;
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: { retryAfterSeconds?: unknown };
}

/** Classifies anything a client-node call or watch can throw or report. Idempotent. */
export function toKubeApiError(error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    const code = error.code as number;
    return fromHttp(code, parseBody(error.body), error.headers as Record<string, string>, error);
  }
  if (isStatus(error)) return fromHttp(Number(error.code) || 500, error, {}, error);
  if (error instanceof Error || error instanceof DOMException) {
    // client-node's Watch reports a non-200 answer as a bare Error with `statusCode`.
    const statusCode = (error as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === "number") return fromHttp(statusCode, error.message, {}, error);
    if (error.name === "AbortError" || error.name === "TimeoutError") {
      const message = error.name === "TimeoutError" ? "request timed out" : "request aborted";
      return new KubeApiError("transient", message, { reason: error.name, cause: error });
    }
    return fromFailure(error);
  }
  return new KubeApiError("permanent", String(error), { cause: error });
}

function fromHttp(
  status: number,
  body: StatusBody | string | undefined,
  headers: Record<string, string> | undefined,
  cause: unknown,
): KubeApiError {
  const statusBody = typeof body === "object" ? body : undefined;
  const reason = typeof statusBody?.reason === "string" ? statusBody.reason : undefined;
  const message =
    (typeof statusBody?.message === "string" && statusBody.message) ||
    (typeof body === "string" && body.trim().slice(0, MAX_BODY_MESSAGE_CHARS)) ||
    `${reason ?? STATUS_CODES[status] ?? "Error"} (HTTP ${status})`;
  const retryAfterMs =
    parseRetryAfter(headerValue(headers, "retry-after")) ??
    secondsToMs(statusBody?.details?.retryAfterSeconds);
  return new KubeApiError(kindOf(status, reason), message, { status, reason, retryAfterMs, cause });
}

function kindOf(status: number, reason: string | undefined): KubeApiErrorKind {
  if (status === 404) return "not-found";
  if (status === 409) return reason === "AlreadyExists" ? "already-exists" : "conflict";
  if (status === 410) return "expired";
  if (TRANSIENT_STATUS.has(status) || (reason && TRANSIENT_REASONS.has(reason))) {
    return "transient";
  }
  return "permanent";
}

/** undici wraps socket failures as `TypeError: fetch failed` with the errno code on a cause. */
function fromFailure(error: Error): KubeApiError {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    const kind = PERMANENT_NETWORK_CODE.test(code) ? "permanent" : "transient";
    const message = e.message.includes(code) ? e.message : `${code}: ${e.message}`;
    return new KubeApiError(kind, message, { reason: code, cause: error });
  }
  const kind = error.message === "fetch failed" ? "transient" : "permanent";
  return new KubeApiError(kind, error.message, { cause: error });
}

function parseBody(body: unknown): StatusBody | string | undefined {
  if (typeof body === "object" && body !== null) return body as StatusBody;
  if (typeof body !== "string" || body === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? (parsed as StatusBody) : body;
  } catch {
    return body;
  }
}

function isStatus(value: unknown): value is StatusBody {
  return typeof value === "object" && value !== null && (value as StatusBody).kind === "Status";
}

function headerValue(
  headers: Record<string, string> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** Retry-After is delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return secondsToMs(seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function secondsToMs(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0
    ? value * 1000
    : undefined;
}
