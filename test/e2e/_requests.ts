// HostFactory's side of a request, for the suites that wait on one: ask until the provider
// accepts, then poll the request's status until the answer is final.

import { RequestStatus } from "../../proto/gen/hostfactory/v1/provider.ts";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";
import type { E2eHarness } from "./harness.ts";

export type RequestAnswer = {
  status: string;
  message: string;
  machines: { name: string; machineId: string; result: string; message: string }[];
};

export interface FinalOptions<T> extends WaitOptions {
  /** Reads the status from an answer (default: its `status` field). */
  statusOf?: (answer: T) => unknown;
  /** Names the wait for the timeout's message (default: "request <id> to finish"). */
  what?: string | (() => string);
}

/** Whether a status, as the scripts print it or as gRPC sends it, may still change. */
function running(status: unknown): boolean {
  return status === "running" || status === RequestStatus.REQUEST_STATUS_RUNNING;
}

/**
 * Asks `ask` for `requestId`'s status until the request is no longer running, and returns that
 * answer. `ask` answers undefined or false to be asked again (a script that exited 1: HostFactory
 * asks again).
 */
export async function waitForFinal<T>(
  requestId: string,
  ask: () => Promise<T | undefined | false>,
  options: FinalOptions<T> = {},
): Promise<T> {
  const {
    statusOf = (answer: T) => (answer as { status?: unknown }).status,
    what = `request ${requestId} to finish`,
    ...wait
  } = options;
  return waitFor(
    what,
    async () => {
      const answer = await ask();
      return answer !== undefined && answer !== false && !running(statusOf(answer)) && answer;
    },
    wait,
  );
}

/** Polls getRequestStatus through the harness's scripts until `requestId` is no longer running. */
export async function finalStatus(
  harness: E2eHarness,
  requestId: string,
  timeoutMs = 60_000,
): Promise<RequestAnswer> {
  return waitForFinal(
    requestId,
    async () => {
      const result = await harness.script("getRequestStatus", { requests: [{ requestId }] });
      const [request] = (result.json?.requests ?? []) as RequestAnswer[];
      return result.code === 0 && request;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Runs `operation` until it answers a request id. */
export async function accepted(
  harness: E2eHarness,
  operation: string,
  input: unknown,
): Promise<string> {
  // A script may answer exit 1 (sidecar could not reach the API in time): HostFactory retries.
  return waitFor(
    `${operation} to be accepted`,
    async () => {
      const result = await harness.script(operation, input);
      return result.code === 0 && String(result.json?.requestId);
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}
