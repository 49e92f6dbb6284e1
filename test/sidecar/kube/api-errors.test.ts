import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, toKubeApiError } from "../../../sidecar/kube/api-errors.ts";

/** An ApiException as client-node's generated code throws it: the body is the response text. */
function apiException(code: number, status: object | string, headers: Record<string, string> = {}) {
  const body = typeof status === "string" ? status : JSON.stringify(status);
  return new ApiException(code, "Unknown API Status Code!", body, headers);
}

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const status = (code: number, reason: string, message: string, details?: object) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  details,
  code,
});

describe("toKubeApiError", () => {
  const table: {
    name: string;
    error: unknown;
    kind: KubeApiError["kind"];
    message: string;
    status?: number;
    reason?: string;
    retryAfterMs?: number;
  }[] = [
    {
      name: "a quota denial is permanent and keeps the API server's message",
      error: apiException(
        403,
        status(
          403,
          "Forbidden",
          'pods "hf-req-1-0000" is forbidden: exceeded quota: compute, requested: requests.cpu=4, used: requests.cpu=60, limited: requests.cpu=64',
        ),
      ),
      kind: "permanent",
      status: 403,
      reason: "Forbidden",
      message:
        'pods "hf-req-1-0000" is forbidden: exceeded quota: compute, requested: requests.cpu=4, used: requests.cpu=60, limited: requests.cpu=64',
    },
    {
      name: "an admission webhook denial is permanent and keeps the webhook's message",
      error: apiException(
        400,
        status(
          400,
          "BadRequest",
          'admission webhook "policy.example.com" denied the request: image registry not allowed',
        ),
      ),
      kind: "permanent",
      status: 400,
      reason: "BadRequest",
      message:
        'admission webhook "policy.example.com" denied the request: image registry not allowed',
    },
    {
      name: "an invalid object (422) is permanent",
      error: apiException(
        422,
        status(422, "Invalid", 'Pod "x" is invalid: spec.containers[0].image: Required value'),
      ),
      kind: "permanent",
      status: 422,
      reason: "Invalid",
      message: 'Pod "x" is invalid: spec.containers[0].image: Required value',
    },
    {
      name: "401 (no body from client-node) is permanent",
      error: new ApiException(401, "Unauthorized", undefined, {}),
      kind: "permanent",
      status: 401,
      message: "Unauthorized (HTTP 401)",
    },
    {
      name: "404 is not-found",
      error: apiException(404, status(404, "NotFound", 'pods "x" not found')),
      kind: "not-found",
      status: 404,
      reason: "NotFound",
      message: 'pods "x" not found',
    },
    {
      name: "409 AlreadyExists is already-exists",
      error: apiException(409, status(409, "AlreadyExists", 'pods "x" already exists')),
      kind: "already-exists",
      status: 409,
      reason: "AlreadyExists",
      message: 'pods "x" already exists',
    },
    {
      name: "409 Conflict is conflict",
      error: apiException(
        409,
        status(
          409,
          "Conflict",
          'Operation cannot be fulfilled on leases.coordination.k8s.io "hf": the object has been modified; please apply your changes to the latest version and try again',
        ),
      ),
      kind: "conflict",
      status: 409,
      reason: "Conflict",
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "hf": the object has been modified; please apply your changes to the latest version and try again',
    },
    {
      name: "410 Expired is expired",
      error: apiException(
        410,
        status(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result.",
        ),
      ),
      kind: "expired",
      status: 410,
      reason: "Expired",
      message: "The provided continue parameter is too old to display a consistent list result.",
    },
    {
      name: "429 is transient and carries Retry-After in milliseconds",
      error: apiException(
        429,
        status(429, "TooManyRequests", "Too many requests, please try again later.", {
          retryAfterSeconds: 1,
        }),
        { "retry-after": "3" },
      ),
      kind: "transient",
      status: 429,
      reason: "TooManyRequests",
      message: "Too many requests, please try again later.",
      retryAfterMs: 3000,
    },
    {
      name: "Retry-After falls back on the Status details",
      error: apiException(
        503,
        status(503, "ServiceUnavailable", "the server is shutting down", { retryAfterSeconds: 2 }),
      ),
      kind: "transient",
      status: 503,
      reason: "ServiceUnavailable",
      message: "the server is shutting down",
      retryAfterMs: 2000,
    },
    {
      name: "a 502 from a proxy with an HTML body is transient and keeps the text",
      error: apiException(502, "<html>Bad Gateway</html>"),
      kind: "transient",
      status: 502,
      message: "<html>Bad Gateway</html>",
    },
    {
      name: "a bare 408 from an overloaded server or proxy is transient",
      error: apiException(408, ""),
      kind: "transient",
      status: 408,
      message: "Request Timeout (HTTP 408)",
    },
    {
      name: "a watch ERROR event with code 410 is expired",
      error: status(410, "Expired", "too old resource version: 100 (2000)"),
      kind: "expired",
      status: 410,
      reason: "Expired",
      message: "too old resource version: 100 (2000)",
    },
    {
      name: "a watch's bare HTTP error (statusCode) is classified by code",
      error: Object.assign(new Error("Gone"), { statusCode: 410 }),
      kind: "expired",
      status: 410,
      message: "Gone",
    },
    {
      name: "a timeout is transient",
      error: new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      kind: "transient",
      reason: "TimeoutError",
      message: "request timed out",
    },
    {
      name: "a connection reset under undici's 'fetch failed' is transient",
      error: new TypeError("fetch failed", {
        cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      }),
      kind: "transient",
      reason: "ECONNRESET",
      message: "read ECONNRESET",
    },
    {
      name: "an untrusted certificate is permanent",
      error: new TypeError("fetch failed", {
        cause: Object.assign(new Error("self-signed certificate"), {
          code: "DEPTH_ZERO_SELF_SIGNED_CERT",
        }),
      }),
      kind: "permanent",
      reason: "DEPTH_ZERO_SELF_SIGNED_CERT",
      message: "DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate",
    },
    {
      name: "a programming error is permanent",
      error: new TypeError("cannot read properties of undefined"),
      kind: "permanent",
      message: "cannot read properties of undefined",
    },
  ];

  for (const c of table) {
    it(c.name, () => {
      const e = toKubeApiError(c.error);
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.kind, c.kind);
      assert.equal(e.message, c.message);
      assert.equal(e.status, c.status);
      assert.equal(e.reason, c.reason);
      assert.equal(e.retryAfterMs, c.retryAfterMs);
      assert.equal(e.cause, c.error);
    });
  }

  it("returns a KubeApiError unchanged", () => {
    const e = new KubeApiError("conflict", "x");
    assert.equal(toKubeApiError(e), e);
  });

  it("reads an HTTP-date Retry-After", () => {
    const at = new Date(Date.now() + 5_000).toUTCString();
    const e = toKubeApiError(
      apiException(429, status(429, "TooManyRequests", "slow down"), { "Retry-After": at }),
    );
    assert.ok(e.retryAfterMs !== undefined && e.retryAfterMs > 3_000 && e.retryAfterMs <= 5_000);
  });

  it("classifies a refused connection from a real client-node call as transient", async () => {
    const port = await closedPort();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromClusterAndUser(
      { name: "closed", server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
      { name: "nobody" },
    );
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const error = await core.listNamespacedPod({ namespace: "default" }).then(
      () => assert.fail("listing against a closed port succeeded"),
      (e: unknown) => toKubeApiError(e),
    );
    assert.equal(error.kind, "transient");
    assert.equal(error.reason, "ECONNREFUSED");
  });
});
