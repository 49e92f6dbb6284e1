import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAddress } from "../../client/address.ts";
import { ClientError } from "../../client/errors.ts";

describe("addresses an administrator writes", () => {
  const accepted: [string, string, string][] = [
    ["unix:///tmp/hostfactory-k8s.sock", "unix", "unix:/tmp/hostfactory-k8s.sock"],
    ["unix:/run/hf/sidecar.sock", "unix", "unix:/run/hf/sidecar.sock"],
    ["sidecar.example.com:7070", "tcp", "sidecar.example.com:7070"],
    ["dns:sidecar:7070", "tcp", "sidecar:7070"],
    ["dns:///sidecar:7070", "tcp", "sidecar:7070"],
    ["10.0.0.5:443", "tcp", "10.0.0.5:443"],
    ["[::1]:7070", "tcp", "[::1]:7070"],
  ];
  for (const [text, transport, target] of accepted) {
    test(`${text} is ${transport}`, () =>
      assert.deepEqual(parseAddress(text, "--address"), { transport, target }));
  }

  const rejected: [string, RegExp][] = [
    ["", /is not host:port/],
    ["unix:relative.sock", /absolute socket path/],
    ["unix://host/path", /absolute socket path/],
    ["/tmp/hostfactory-k8s.sock", /did you mean unix:\/\/\/tmp\/hostfactory-k8s.sock/],
    ["sidecar", /is not host:port/],
    ["sidecar:0", /port outside 1-65535/],
    ["sidecar:70000", /port outside 1-65535/],
    ["http://sidecar:80", /is not host:port/],
  ];
  for (const [text, message] of rejected) {
    test(`${JSON.stringify(text)} is rejected, saying where it came from and what is accepted`, () =>
      assert.throws(
        () => parseAddress(text, "HOSTFACTORY_ADDRESS"),
        (error) =>
          error instanceof ClientError &&
          error.code === "invalid_input" &&
          message.test(error.message) &&
          error.message.startsWith("HOSTFACTORY_ADDRESS: ") &&
          error.message.includes("expected unix:///path/to.sock"),
      ));
  }
});
