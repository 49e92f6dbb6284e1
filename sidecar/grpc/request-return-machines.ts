// requestReturnMachines: checks that the machines are this provider's to return, then stores a
// return request's record; the reconciler deletes the pods.

import { listExcerpt, ProviderError } from "../provider/errors.ts";
import { newRequestId, podNameOfMachine } from "../provider/naming.ts";
import type { NewReturnRecord } from "../provider/records.ts";
import {
  type MachineRef,
  type ProviderContext,
  plural,
  requireSynced,
} from "./provider-context.ts";
import { storeForCall } from "./store-for-call.ts";

const HOST_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A machine name as we hand them out: a pod's hostname, or its FQDN. */
function isHostName(name: string): boolean {
  return name.length <= 253 && HOST_NAME.test(name);
}

export async function requestReturnMachines(
  context: ProviderContext,
  machines: MachineRef[],
  signal: AbortSignal | undefined,
): Promise<{ requestId: string; message: string }> {
  const { settings, state, cluster } = context;
  requireSynced(state);
  if (machines.length === 0) {
    throw new ProviderError("invalid-argument", "no machines to return");
  }
  const badNames = machines.filter((machine) => !isHostName(machine.name));
  if (badNames.length > 0) {
    throw new ProviderError(
      "invalid-argument",
      `not machine names of provider instance '${settings.instance}': ${listExcerpt(badNames.map((m) => m.name))}`,
    );
  }
  // A host whose pod is gone is returned whatever its name (one of an earlier prefix, or of
  // the provider this one replaces); a live pod that is not ours is never ours to delete.
  const unknown = machines.filter((machine) => !state.pod(podNameOfMachine(machine.name)));
  if (unknown.length > 0) {
    const elsewhere = await cluster.foreignPodNames().catch((error: Error) => {
      throw new ProviderError(
        "unavailable",
        `cannot tell whether ${listExcerpt(unknown.map((m) => m.name))} still run: ${error.message}`,
        { cause: error },
      );
    });
    const notOurs = unknown.filter((m) => elsewhere.has(podNameOfMachine(m.name)));
    if (notOurs.length > 0) {
      throw new ProviderError(
        "invalid-argument",
        `not machines of provider instance '${settings.instance}': ${listExcerpt(notOurs.map((m) => m.name))} (their pods are someone else's and never deleted by this provider; once they are gone, getReturnRequests reports them)`,
      );
    }
  }
  const unique = [...new Map(machines.map((m) => [podNameOfMachine(m.name), m])).values()];
  const record: NewReturnRecord = {
    kind: "return",
    requestId: newRequestId("return"),
    machines: unique.map(({ name, machineId }) => ({ name, machineId })),
  };
  await storeForCall(context, record, signal);
  return {
    requestId: record.requestId,
    message: `Return of ${plural(unique.length, "machine")} accepted.`,
  };
}
