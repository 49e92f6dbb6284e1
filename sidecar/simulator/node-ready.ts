import type { Node } from "./object-types.ts";

/** Whether the node reports Ready: only then does its kubelet act. */
export function nodeIsReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}
