// HostFactory's side of a request, for the suites that wait on one: ask until the provider
// accepts, then poll getRequestStatus until the answer is final.

import { waitFor } from "../tools/wait-for.ts";
import type { E2eHarness } from "./harness.ts";

export type RequestAnswer = {
  status: string;
  message: string;
  machines: { name: string; machineId: string; result: string; message: string }[];
};

/** Polls getRequestStatus until `requestId` is no longer running. */
export async function finalStatus(
  harness: E2eHarness,
  requestId: string,
  timeoutMs = 60_000,
): Promise<RequestAnswer> {
  return waitFor(
    `request ${requestId} to finish`,
    async () => {
      const result = await harness.script("getRequestStatus", { requests: [{ requestId }] });
      const [request] = (result.json?.requests ?? []) as RequestAnswer[];
      return result.code === 0 && request?.status !== "running" && request;
    },
    { timeoutMs: timeoutMs, intervalMs: 250 },
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
