// The scripts run client/gen/hostfactory.cjs, a build of the client's sources: it must be what
// `npm run build:client` makes of them now, and must not carry grpc-js.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BUNDLE, bundleClient } from "../../client/bundle.ts";

test("the committed bundle is what npm run build:client makes of the sources", async () => {
  const committed = readFileSync(BUNDLE, "utf8");
  assert.ok(
    committed === (await bundleClient()),
    `${BUNDLE} is stale: run \`npm run build:client\` and commit it`,
  );
});

test("the bundle calls the sidecar on the built-in node:http2: no grpc-js inside", () => {
  const committed = readFileSync(BUNDLE, "utf8");
  assert.doesNotMatch(committed, /node_modules\/@grpc\/grpc-js/);
  assert.match(committed, /require\("node:http2"\)/);
});
