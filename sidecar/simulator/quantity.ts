/**
 * Kubernetes resource quantities reduced to the integer units the scheduler compares:
 * millicores for cpu, bytes for memory, plain counts for the rest.
 */
import { parseQuantity } from "../../templates/quantity.ts";

/** Integer units of a resource: millicores for cpu, whole units (bytes, pods) otherwise. */
export function resourceUnits(resource: string, text: string): number {
  const value = parseQuantity(text) ?? 0;
  return Math.ceil(resource === "cpu" ? value * 1000 : value);
}
