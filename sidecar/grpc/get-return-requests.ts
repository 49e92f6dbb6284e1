// getReturnRequests: which of HostFactory's machines the cluster is taking back.

import { podNameOfMachine } from "../provider/naming.ts";
import { type ReturnCandidate, returnCandidates } from "../provider/return-requests.ts";
import {
  type MachineRef,
  type ProviderContext,
  plural,
  requireSynced,
} from "./provider-context.ts";

export async function getReturnRequests(
  { settings, state, cluster }: ProviderContext,
  machines: MachineRef[],
): Promise<{ requests: ReturnCandidate[]; message: string }> {
  requireSynced(state);
  // Only hosts with no pod of ours need the list of the namespace's other pods.
  const unknown = machines.some((machine) => {
    const name = podNameOfMachine(machine.name);
    return !state.pod(name) && !state.isReturning(name);
  });
  let elsewhere: ReadonlySet<string> | undefined;
  if (unknown) elsewhere = await cluster.foreignPodNames().catch(() => undefined);
  const requests = returnCandidates(machines, {
    podNamePrefix: settings.podNamePrefix,
    pod: state.pod,
    node: state.node,
    isReturning: state.isReturning,
    existsElsewhere: (name) => elsewhere?.has(name),
    now: Date.now(),
  });
  const message =
    requests.length === 0
      ? "No machine is being taken back by the cluster."
      : `${plural(requests.length, "machine")} ${requests.length === 1 ? "is" : "are"} being taken back by the cluster.`;
  return { requests, message };
}
