// docs/metrics.md against the sidecar's own registry, built in-process (nothing is scraped): the
// reference lists every metric the sidecar registers, once, with its type and labels, and every
// metric and label the docs name in prose or in a query exists.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createMetrics, type MetricSources } from "../../sidecar/metrics.ts";
import { ROOT } from "./_helm.ts";

const REFERENCE = "docs/metrics.md";
const DOCS = [REFERENCE, "docs/deployment.md"];
/** Labels Prometheus gives every series from its target (the Prometheus Operator's set). */
const TARGET_LABELS = ["namespace", "pod", "job", "instance", "service", "container", "endpoint"];
/** The series a histogram adds to its name. */
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

interface Metric {
  type: string;
  labels: string[];
}

/** What the sidecar registers: createMetrics() and the gauges watch() adds over idle sources. */
async function registered(): Promise<Map<string, Metric>> {
  const metrics = createMetrics();
  const idle = {
    state: { pods: () => [], record: () => undefined },
    caches: {},
    limiter: { stats: { waiting: 0, inFlight: 0 } },
    isLeader: () => true,
    expectations: () => 0,
    retrying: () => 0,
    orphans: () => 0,
  } as unknown as MetricSources;
  metrics.watch(idle);
  const result = new Map<string, Metric>();
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    // prom-client keeps the label names on the metric, though its types do not declare them.
    const metric = metrics.registry.getSingleMetric(name) as unknown as { labelNames: string[] };
    result.set(name, { type: String(type), labels: [...metric.labelNames].sort() });
  }
  return result;
}

/** The reference's table rows: | `name` | type | `label`, `label` | meaning |. */
function referenceRows(): { name: string; type: string; labels: string[] }[] {
  const text = readFileSync(join(ROOT, REFERENCE), "utf8");
  return text.split("\n").flatMap((line) => {
    const match = /^\| `(hostfactory_\w+)` +\| (\w+) +\| ([^|]*)\|/.exec(line);
    if (!match) return [];
    const labels = [...(match[3] ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1] ?? "").sort();
    return [{ name: match[1] ?? "", type: match[2] ?? "", labels }];
  });
}

/** The registered metric a documented series name belongs to (histograms add suffixes). */
function metricOf(metrics: Map<string, Metric>, series: string): [string, Metric] | undefined {
  const metric = metrics.get(series);
  if (metric) return [series, metric];
  const base = series.replace(HISTOGRAM_SERIES, "");
  const histogram = metrics.get(base);
  return histogram?.type === "histogram" ? [base, histogram] : undefined;
}

const metrics = await registered();

test("the reference lists every metric the sidecar registers, each once", () => {
  const names = referenceRows().map((row) => row.name);
  assert.deepEqual(
    names.filter((name, i) => names.indexOf(name) !== i),
    [],
    "listed twice",
  );
  assert.deepEqual([...names].sort(), [...metrics.keys()].sort());
});

test("the reference gives each metric the type and labels it is registered with", () => {
  for (const { name, type, labels } of referenceRows()) {
    assert.deepEqual({ type, labels }, metrics.get(name), name);
  }
});

for (const doc of DOCS) {
  test(`${doc}: every metric it names exists, and every label it selects or groups by`, () => {
    const text = readFileSync(join(ROOT, doc), "utf8");
    for (const line of text.split("\n")) {
      const named = [...line.matchAll(/\b(hostfactory_[a-z0-9_]+)(\{[^}]*\})?/g)];
      const known = new Set([...TARGET_LABELS, "le"]);
      for (const [, series = "", selector = ""] of named) {
        const found = metricOf(metrics, series);
        assert.ok(found, `${doc} names ${series}, which the sidecar does not register`);
        const [, metric] = found;
        for (const label of metric.labels) known.add(label);
        for (const [, label] of selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          const own = metric.labels.includes(label ?? "") || TARGET_LABELS.includes(label ?? "");
          const le = label === "le" && series.endsWith("_bucket");
          assert.ok(own || le, `${doc}: ${series} has no label ${label}`);
        }
      }
      if (named.length === 0) continue;
      for (const [, list = ""] of line.matchAll(/\b(?:by|on|without) \(([^)]*)\)/g)) {
        for (const label of list.split(",").map((l) => l.trim())) {
          assert.ok(known.has(label), `${doc}: no metric of "${line.trim()}" has a label ${label}`);
        }
      }
    }
  });
}
