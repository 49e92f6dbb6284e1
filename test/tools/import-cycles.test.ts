// No module imports itself through others: the folders are layers only while no import runs back
// up the tree. Type-only imports count too, since they tie the modules' designs together just
// the same.
import assert from "node:assert/strict";
import { globSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const ROOT = join(import.meta.dirname, "..", "..");

/** Each TypeScript module of the project (generated code aside) and the project modules it imports. */
function importGraph(): Map<string, string[]> {
  const files = globSync("**/*.ts", {
    cwd: ROOT,
    exclude: (path) => /(^|\/)(node_modules|gen|\.git)$/.test(path),
  });
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
    graph.set(
      file,
      importedFiles
        .map(({ fileName }) => fileName)
        .filter((name) => name.startsWith("."))
        .map((name) => relative(ROOT, join(ROOT, dirname(file), name)))
        .filter((name) => known.has(name)),
    );
  }
  return graph;
}

/** The graph's strongly connected components of more than one module (Tarjan's algorithm). */
function cycles(graph: Map<string, string[]>): string[][] {
  const order = new Map<string, number>();
  const lowest = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (module: string): void => {
    order.set(module, order.size);
    lowest.set(module, order.get(module) as number);
    stack.push(module);
    onStack.add(module);
    for (const imported of graph.get(module) ?? []) {
      if (!order.has(imported)) visit(imported);
      if (onStack.has(imported)) {
        lowest.set(module, Math.min(lowest.get(module) as number, lowest.get(imported) as number));
      }
    }
    if (lowest.get(module) !== order.get(module)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== module);
    if (component.length > 1 || graph.get(module)?.includes(module)) found.push(component.sort());
  };
  for (const module of graph.keys()) if (!order.has(module)) visit(module);
  return found;
}

test("the finder sees a cycle of three modules and a module importing itself", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", ["d.ts", "a.ts"]],
  ]);
  assert.deepEqual(cycles(graph), [["a.ts", "b.ts", "c.ts"], ["d.ts"]]);
});

test("no module of the project imports itself through others", () => {
  const graph = importGraph();
  assert.ok(graph.has(join("sidecar", "main.ts")), "the project's modules were found");
  assert.deepEqual(cycles(graph), []);
});
