// gRPC's status codes and the error a call ends with, shared by the scripts' calls and the admin
// commands': what a status means to the user is decided once, in errors.ts (sidecarError).

/** gRPC status codes, by name; the number is the wire form (grpc-status). */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatus = (typeof GRPC_STATUS)[keyof typeof GRPC_STATUS];

export function statusName(code: number): string {
  return Object.entries(GRPC_STATUS).find(([, value]) => value === code)?.[0] ?? `code ${code}`;
}

/** A call that ended without an answer: the gRPC status and its details, as a server gives them. */
export class GrpcCallError extends Error {
  override readonly name = "GrpcCallError";
  readonly code: number;
  readonly details: string;
  constructor(code: number, details: string, options?: { cause?: unknown }) {
    super(`${statusName(code)}: ${details}`, options);
    this.code = code;
    this.details = details;
  }
}
