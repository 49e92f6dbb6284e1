import assert from "node:assert/strict";
import { test } from "node:test";
import { createMetrics, startMetricsServer } from "../../sidecar/metrics.ts";

test("the metrics server takes an IPv6 host in brackets, as in a URL, and serves only /metrics", async () => {
  const metrics = createMetrics();
  metrics.machinesRequested("small", 2);
  const { address, server } = await startMetricsServer(metrics, "[::1]:0");
  try {
    const port = address.split(":").pop();
    const scraped = await fetch(`http://[::1]:${port}/metrics`);
    assert.equal(scraped.status, 200);
    assert.match(
      await scraped.text(),
      /hostfactory_machines_requested_total\{template="small"\} 2/,
    );
    assert.equal((await fetch(`http://[::1]:${port}/`)).status, 404);
  } finally {
    server.close();
  }
});
