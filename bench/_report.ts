// The benchmark's one table and its JSON twin. Every figure is measured once per run; the table
// shows the median over the runs and their spread (lowest – highest), and whether it meets its
// target from issue 6.
import { cpus, totalmem } from "node:os";
import { median } from "./_stats.ts";

export interface Target {
  /** The figure must be at most (`max`) or at least (`min`) `value`. */
  kind: "max" | "min";
  value: number;
}

export interface Figure {
  /** The benchmark it belongs to, e.g. "burst". */
  section: string;
  name: string;
  unit: string;
  /** One value per run. */
  values: number[];
  target?: Target;
}

export interface FigureSummary extends Figure {
  median: number;
  min: number;
  max: number;
  /** Undefined when the figure has no target. */
  met: boolean | undefined;
}

export function summarise(figure: Figure): FigureSummary {
  const finite = figure.values.filter(Number.isFinite);
  const value = median(finite);
  const met =
    figure.target === undefined
      ? undefined
      : figure.target.kind === "max"
        ? value <= figure.target.value
        : value >= figure.target.value;
  return {
    ...figure,
    median: value,
    min: finite.length ? Math.min(...finite) : Number.NaN,
    max: finite.length ? Math.max(...finite) : Number.NaN,
    met,
  };
}

/** The machine the figures come from, for the README and the JSON file. */
export function machineDescription() {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? "unknown",
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function format(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function targetText(figure: FigureSummary): string {
  if (!figure.target) return "";
  const mark = figure.met ? "met" : "MISSED";
  return `${figure.target.kind === "max" ? "≤" : "≥"} ${format(figure.target.value)} ${mark}`;
}

/** A Markdown table: readable in a terminal and pasteable into the README as is. */
export function renderTable(figures: FigureSummary[], runs: number): string {
  const header = ["benchmark", "figure", "median", `spread (${runs} runs)`, "unit", "target"];
  const rows = figures.map((f) => [
    f.section,
    f.name,
    format(f.median),
    f.values.length > 1 ? `${format(f.min)} – ${format(f.max)}` : "",
    f.unit,
    targetText(f),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((r) => r[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const numeric = new Set([2, 3]);
  const rule = `| ${widths.map((w, i) => (numeric.has(i) ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
